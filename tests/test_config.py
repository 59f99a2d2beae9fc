"""Config validation: defaults, documented keys, errors naming the key."""

import copy
from pathlib import Path

import pytest
import yaml

from sgdspectra.config import ConfigError, ModelConfig, iter_schema_keys, load_config, load_schema, validate_config

REPO = Path(__file__).resolve().parents[1]


def test_every_key_has_type_description_and_default():
    keys = list(iter_schema_keys(load_schema()))
    assert len(keys) > 20
    for key, sub in keys:
        assert "type" in sub, key
        assert str(sub.get("description", "")).strip(), key
        assert "default" in sub, key


def test_empty_config_gets_every_default():
    cfg = validate_config({})
    assert cfg["seeds"] == [0, 1]
    train = cfg["models"]["mlp"]["train"]
    assert train["lr"] > 0 and train["steps"] >= 1
    assert cfg["sde"]["s"] == "auto"


def test_default_config_file_is_valid_and_matches_issue_requirements():
    cfg = load_config(REPO / "config.yaml")
    assert len(cfg["seeds"]) >= 2
    mlp = cfg["models"]["mlp"]
    assert mlp["hidden"] == [256, 256] and mlp["data"]["name"] == "digits"
    assert mlp["init"] == "normal_fan_in" and mlp["activation"] == "relu"


def test_workflow_schema_is_the_package_schema():
    linked = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    assert linked == load_schema()


@pytest.mark.parametrize(
    "patch, key",
    [
        ({"models": {"mlp": {"train": {"lr": -0.1}}}}, "models.mlp.train.lr"),
        ({"models": {"mlp": {"train": {"lr": "fast"}}}}, "models.mlp.train.lr"),
        ({"models": {"mlp": {"train": {"lrr": 0.1}}}}, "models.mlp.train.lrr"),
        ({"unknown_key": 1}, "unknown_key"),
        ({"seeds": []}, "seeds"),
        ({"sde": {"s": "big"}}, "sde.s"),
        ({"sde": {"s": -1.0}}, "sde.s"),
        ({"models": {"mlp": {"hidden": [0]}}}, "models.mlp.hidden.0"),
        ({"models": {"mlp": {"train": {"batch_size": True}}}}, "models.mlp.train.batch_size"),
        ({"models": {"bad name": {}}}, "models"),
    ],
)
def test_invalid_config_names_the_key(patch, key):
    with pytest.raises(ConfigError) as err:
        validate_config(copy.deepcopy(patch))
    assert f"'{key}'" in str(err.value)


def test_all_errors_are_reported_together():
    with pytest.raises(ConfigError) as err:
        validate_config({"models": {"mlp": {"train": {"lr": -1, "momentum": 2}}}})
    assert "train.lr" in str(err.value) and "train.momentum" in str(err.value)


def test_load_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("seeds: [0\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_model_config_typed_view():
    cfg = ModelConfig.from_dict("m", {"hidden": [8, 4], "train": {"lr": 0.2}})
    assert cfg.hidden == (8, 4) and cfg.train.lr == 0.2 and cfg.train.batch_size == 32
    assert '"lr": 0.2' in cfg.to_json()
