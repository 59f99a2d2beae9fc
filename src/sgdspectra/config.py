"""Configuration: validation against the JSON schema, defaults, and typed views.

The workflow calls :func:`validate_config` on the raw config before any job runs. Every key of the
schema has a type, a description and a default; missing keys are filled in, unknown keys, wrong
types and out-of-range values raise :class:`ConfigError` with a message naming the key.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, is_dataclass
from importlib import resources
from pathlib import Path
from typing import Any, get_type_hints

import jsonschema
import yaml

from .architecture import IMAGE_SHAPES, cnn_feature_side

__all__ = [
    "CNNConfig",
    "ConfigError",
    "DataConfig",
    "ModelConfig",
    "SnapshotConfig",
    "TrainConfig",
    "load_schema",
    "load_config",
    "validate_config",
    "iter_schema_keys",
]


class ConfigError(ValueError):
    """Raised when a configuration does not satisfy the schema."""


def load_schema() -> dict[str, Any]:
    """Return the workflow's JSON schema (shipped with the package)."""
    text = resources.files("sgdspectra").joinpath("schemas/config.schema.yaml").read_text()
    return yaml.safe_load(text)


def _key(path: Iterator[Any] | Any) -> str:
    parts = [str(p) for p in path]
    return ".".join(parts) if parts else "<top level>"


def _fill_defaults(validator_class: type) -> type:
    """Extend a validator so that ``properties`` fills in missing defaults before validating."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):  # noqa: ANN001 (jsonschema API)
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    def set_additional_defaults(validator, aP, instance, schema):  # noqa: ANN001
        # Models are keyed by free names: fill defaults inside each of them as well.
        if isinstance(instance, dict) and isinstance(aP, dict):
            extras = set(instance) - set(schema.get("properties", {}))
            for extra in sorted(extras):
                yield from validator.descend(instance[extra], aP, path=extra)
        elif aP is False and isinstance(instance, dict):
            yield from validator_class.VALIDATORS["additionalProperties"](
                validator, aP, instance, schema
            )

    return jsonschema.validators.extend(
        validator_class,
        {"properties": set_defaults, "additionalProperties": set_additional_defaults},
    )


def _describe(error: jsonschema.ValidationError) -> str:
    path = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        extras = sorted(set(error.instance) - set(allowed))
        return "; ".join(
            f"config key '{_key([*path, extra])}' is unknown (allowed here: {', '.join(allowed)})"
            for extra in extras
        )
    if error.validator == "oneOf" and error.context:
        inner = min(error.context, key=lambda e: len(e.message))
        return f"config key '{_key(path)}': {error.instance!r} is not valid ({inner.message})"
    return f"config key '{_key(path)}': {error.message}"


def validate_config(config: dict[str, Any]) -> dict[str, Any]:
    """Validate ``config`` in place against the schema, fill defaults, and return it.

    Raises
    ------
    ConfigError
        Listing every violation, each naming its key (e.g. ``models.mlp.train.lr``).
    """
    if not isinstance(config, dict):
        raise ConfigError(f"the configuration must be a mapping, got {type(config).__name__}")
    schema = load_schema()
    cls = _fill_defaults(jsonschema.Draft202012Validator)
    validator = cls(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    lines = sorted({_describe(e) for e in errors})
    if not errors:
        lines = _semantic_errors(config)
    if lines:
        raise ConfigError("invalid configuration:\n  - " + "\n  - ".join(lines))
    return config


def _semantic_errors(config: dict[str, Any]) -> list[str]:
    """Checks across keys that JSON schema cannot express, each naming its key."""
    out = []
    for name, spec in config.get("models", {}).items():
        arch, data = spec["architecture"], spec["data"]
        key = f"models.{name}"
        if arch == "gpt" and data["name"] not in TEXT_DATASETS:
            out.append(f"config key '{key}.data.name': gpt needs a text data set ({', '.join(TEXT_DATASETS)}), got {data['name']!r}")
        if arch in ("mlp", "vit", "cnn") and data["name"] not in IMAGE_DATASETS:
            out.append(f"config key '{key}.data.name': {arch} needs an image data set ({', '.join(IMAGE_DATASETS)}), got {data['name']!r}")
        if arch == "cnn":
            out += _cnn_errors(key, spec["cnn"], data["name"])
        if data["name"] == "text_file" and not data["path"]:
            out.append(f"config key '{key}.data.path': data set text_file needs a path to a UTF-8 text file")
        tr = spec["transformer"]
        if arch in ("gpt", "vit") and tr["n_embd"] % tr["n_head"]:
            out.append(f"config key '{key}.transformer.n_head': {tr['n_head']} does not divide n_embd {tr['n_embd']}")
        t = spec["train"]
        if t["schedule"] == "warmup_cosine" and t["warmup_steps"] >= t["steps"]:
            out.append(f"config key '{key}.train.warmup_steps': {t['warmup_steps']} must be below steps {t['steps']}")
    return out


def _cnn_errors(key: str, cnn: Mapping[str, Any], dataset: str) -> list[str]:
    """The cnn's kernel must be odd ('same' padding) and its pooling must leave a feature map."""
    out = []
    if cnn["kernel_size"] % 2 == 0:
        out.append(f"config key '{key}.cnn.kernel_size': must be odd ('same' padding), got {cnn['kernel_size']}")
    if dataset in IMAGE_SHAPES:
        side = IMAGE_SHAPES[dataset][0]
        if cnn_feature_side(side, len(cnn["channels"])) < 1:
            out.append(f"config key '{key}.cnn.channels': {len(cnn['channels'])} blocks, each halving the side, "
                       f"shrink the {side}x{side} images of {dataset} to nothing")
    return out


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file and validate it (defaults filled in)."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    return validate_config(raw)


def iter_schema_keys(schema: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, dict]]:
    """Yield ``(dotted key, subschema)`` for every documented key of the schema (for docs/tests)."""
    defs = schema.get("$defs", {})
    for name, sub in schema.get("properties", {}).items():
        key = f"{prefix}{name}"
        yield key, sub
        target = sub
        ap = sub.get("additionalProperties")
        if isinstance(ap, dict) and "$ref" in ap:
            target = defs[ap["$ref"].split("/")[-1]]
            key = f"{key}.<name>"
        if "properties" in target:
            yield from iter_schema_keys({"properties": target["properties"], "$defs": defs}, key + ".")


# ----------------------------------------------------------------------------- typed views
TEXT_DATASETS = ("pydoc", "tiny_shakespeare", "text_file")
IMAGE_DATASETS = tuple(IMAGE_SHAPES)  # ("digits", "mnist", "cifar10")


@dataclass(frozen=True)
class DataConfig:
    name: str = "digits"
    path: str = ""
    dir: str = "results/data"
    val_fraction: float = 0.2
    split_seed: int = 0


@dataclass(frozen=True)
class TransformerConfig:
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 64
    mlp_ratio: float = 4.0
    dropout: float = 0.0
    tie_weights: bool = True
    patch_size: int = 2
    split_heads: bool = False


@dataclass(frozen=True)
class CNNConfig:
    channels: tuple[int, ...] = (16, 32)
    kernel_size: int = 3
    fc_hidden: tuple[int, ...] = (120,)


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 3000
    batch_size: int = 32
    lr: float = 0.05
    momentum: float = 0.0
    weight_decay: float = 0.0
    weight_decay_2d_only: bool = False
    schedule: str = "constant"
    warmup_steps: int = 0
    min_lr_ratio: float = 0.1
    grad_clip: float = 0.0
    eval_windows: int = 64
    checkpoint_every: int = 1000
    device: str = "cpu"
    log_every_s: float = 5.0


@dataclass(frozen=True)
class SnapshotConfig:
    log_points: int = 12
    log_until: int = 200
    every: int = 250
    noise_batches: int = 4


@dataclass(frozen=True)
class DynamicsConfig:
    windows: int = 0
    gap: int = 5
    probe_batches: int = 16
    matrices: tuple[str, ...] = ("*",)


@dataclass(frozen=True)
class TrackingConfig:
    start_step: int = 0
    matrices: tuple[str, ...] = ()
    top_k: int = 8


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to train one model: architecture, data, optimiser, snapshot schedule."""

    name: str = "mlp"
    architecture: str = "mlp"
    hidden: tuple[int, ...] = (256, 256)
    transformer: TransformerConfig = field(default_factory=TransformerConfig)
    cnn: CNNConfig = field(default_factory=CNNConfig)
    activation: str = "relu"
    init: str = "normal_fan_in"
    bias: bool = True
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    snapshots: SnapshotConfig = field(default_factory=SnapshotConfig)
    dynamics: DynamicsConfig = field(default_factory=DynamicsConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)

    @classmethod
    def from_dict(cls, name: str, spec: Mapping[str, Any]) -> ModelConfig:
        """Build from one validated ``models.<name>`` entry (missing keys take schema defaults)."""
        spec = validate_config({"models": {name: copy.deepcopy(dict(spec))}})["models"][name]
        return _from_mapping(cls, spec, name=name)

    def to_json(self) -> str:
        """The configuration as JSON (stored in every output's provenance)."""
        from dataclasses import asdict

        return json.dumps(asdict(self), sort_keys=True)


def _from_mapping(cls: type, values: Mapping[str, Any], **extra: Any) -> Any:
    """Dataclass ``cls`` from validated ``values``: sections become their dataclasses, lists tuples."""
    hints = get_type_hints(cls)
    kwargs = dict(extra)
    for key, value in values.items():
        if is_dataclass(hints[key]):
            value = _from_mapping(hints[key], value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[key] = value
    return cls(**kwargs)
