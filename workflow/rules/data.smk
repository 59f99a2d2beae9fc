# Downloads of the paper-scale data sets (checksummed; offline they fail with instructions).
# The default data (scikit-learn's digits, CPython's pydoc text) ship with the dependencies.
# The output is a marker written after every file of the data set is in place and verified.


rule download_data:
    output:
        "{datadir}/{dataset}.verified",
    log:
        "{datadir}/logs/download_{dataset}.log",
    conda:
        "../../envs/sgdspectra.yaml"
    script:
        "../../scripts/download_data.py"
