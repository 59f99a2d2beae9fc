"""Rule scripts are thin and importable outside Snakemake (CASES 27); the CLI works."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from sgdspectra.cli import config_keys_markdown, main

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((REPO / "scripts").glob("*.py"))


def test_every_rule_has_a_script_of_the_same_name():
    rules = set()
    for smk in (REPO / "workflow/rules").glob("*.smk"):
        for line in smk.read_text().splitlines():
            if line.startswith("rule "):
                rules.add(line.split()[1].rstrip(":"))
    assert rules == {p.stem for p in SCRIPTS}


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.stem)
def test_script_imports_without_side_effects_and_is_thin(path):
    spec = importlib.util.spec_from_file_location(f"script_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # must not touch `snakemake` or do any work
    assert callable(module.main)
    assert len(path.read_text().splitlines()) <= 30


def test_cli_help_and_version():
    out = subprocess.run([sys.executable, "-m", "sgdspectra.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "validate-config" in out.stdout
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0


def test_cli_validate_config(tmp_path, capsys):
    assert main(["validate-config", str(REPO / "config.yaml")]) == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("models:\n  mlp:\n    train: {lr: -1}\n")
    assert main(["validate-config", str(bad)]) == 2
    assert "models.mlp.train.lr" in capsys.readouterr().err


def test_readme_documents_every_config_key():
    readme = (REPO / "README.md").read_text()
    for line in config_keys_markdown().splitlines()[2:]:
        key = line.split("`")[1]
        assert f"`{key}`" in readme, key


def test_cli_summary(tmp_path, capsys):
    from sgdspectra.config import ModelConfig
    from sgdspectra.train import train_and_record

    cfg = ModelConfig.from_dict("t", {"hidden": [8], "train": {"steps": 3}})
    train_and_record(cfg, 0, tmp_path / "run.nc")
    assert main(["summary", str(tmp_path / "run.nc")]) == 0
    assert "layers.0" in capsys.readouterr().out
    assert main(["summary", str(tmp_path / "missing.nc")]) == 2
