"""Provenance attributes stamped on every product, and attribute sanitising for netCDF."""

from __future__ import annotations

import json
import platform
import subprocess
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__

__all__ = ["git_commit", "provenance_attrs", "sanitize_attrs", "sanitize_value"]


def git_commit() -> str:
    """Commit of the source tree holding this package (``-dirty`` appended), or ``unknown``."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=40"],
            cwd=here, capture_output=True, text=True, timeout=5, check=True,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def provenance_attrs(
    *, config: Mapping[str, Any] | str | None = None, seed: int | None = None,
    device: str | None = None, **extra: Any,
) -> dict[str, Any]:
    """The global attributes every product carries: versions, commit, config, seed, device, time."""
    import torch
    import xarray

    attrs: dict[str, Any] = {
        "sgdspectra_version": __version__,
        "git_commit": git_commit(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config_json": config if isinstance(config, str) else json.dumps(config, sort_keys=True, default=str),
        "seed": seed,
        "device": device,
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "xarray_version": xarray.__version__,
        "python_version": platform.python_version(),
    }
    attrs.update(extra)
    return sanitize_attrs(attrs)


def sanitize_value(value: Any) -> Any:
    """Turn any Python value into something netCDF can store as an attribute.

    bool -> int 0/1; None -> ""; dict, tuple/list of non-numbers, and other objects -> JSON or str;
    numbers, strings and numeric sequences pass through.
    """
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if value is None:
        return ""
    if isinstance(value, (str, int, float, np.integer, np.floating)):
        return value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple, np.ndarray)):
        arr = np.asarray(value)
        if arr.ndim == 1 and arr.size > 0 and arr.dtype.kind in "iuf":
            return arr
        return json.dumps(np.asarray(value, dtype=object).tolist(), default=str)
    if isinstance(value, Mapping):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def sanitize_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Sanitise every value of an attribute mapping (see :func:`sanitize_value`)."""
    return {str(k): sanitize_value(v) for k, v in attrs.items()}
