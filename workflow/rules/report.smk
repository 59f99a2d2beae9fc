# The HTML report (`snakemake --report results/report.html`, run by `make run`): its front page,
# workflow/report/workflow.rst, embeds the verdict summary written here; every figure and table
# rule declares its own report(...) item.


rule make_report_summary:
    input:
        expand("results/tables/verdict_{model}.csv", model=MODELS),
    output:
        html=report(
            "results/report/verdict_summary.html",
            caption="../report/verdict_summary.rst",
            category="fits",
            subcategory="tables",
            labels={"table": "verdict summary", "model": "all"},
        ),
    log:
        "results/logs/make_report_summary/all.log",
    conda:
        "../../envs/sgdspectra.yaml"
    script:
        "../../scripts/make_report_summary.py"
