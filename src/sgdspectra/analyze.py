"""``sgdspectra analyze``: spectra and fits of every 2-D weight in a checkpoint file.

Loading is safe by default: PyTorch files are read with ``torch.load(..., weights_only=True)``
and ``.safetensors`` files with the optional ``safetensors`` package, so no pickled code runs.
A file that ``weights_only`` refuses but that is a well-formed pickle (checked statically with
:mod:`pickletools`, which never executes anything) is refused with :class:`AnalyzeError` naming
``--trust-pickle``; with ``trust_pickle=True`` it is loaded with ``weights_only=False``.

Per analysed matrix (PyTorch shape ``(n_rows, n_cols)``, ``N = min``, ``M = max``,
``lam = sigma**2`` the eigenvalues of ``W^T W``), the columns compatible with WeightWatcher are:

- ``alpha``, ``xmin``, ``D``, ``n_tail``: CSN power-law fit of the density of ``lam``
  (:func:`sgdspectra.fitting.fit_power_law`); ``xmin`` in ``lam`` units;
- ``stable_rank = sum(lam) / max(lam)``; ``log_spectral_norm = log10(max(lam))``;
- ``num_spikes``: values above the MP edge; ``mp_softrank = M * lambda_plus / max(lam)`` where
  ``lambda_plus`` is the MP edge fitted to ``lam / M`` (WeightWatcher: ``lambda_plus / lambda_max``);

plus the MP variance and the Eq. 13 / exact-gamma stationary-law fits (status, rate, ks).
Entries that are not analysed are listed in ``skipped`` with a reason, never dropped silently.
"""

from __future__ import annotations

import csv
import io
import json
import math
import pickle
import pickletools
import sys
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sgdspectra.fitting import fit_spectrum_results
from sgdspectra.spectra import singular_values

__all__ = [
    "COLUMNS",
    "AnalyzeError",
    "AnalyzeResult",
    "analyze_file",
    "analyze_tensors",
    "format_table",
    "load_checkpoint",
    "write_csv",
]

#: Columns of a layer row, in output order.
COLUMNS: tuple[str, ...] = (
    "name", "n_rows", "n_cols", "N", "M", "alpha", "xmin", "D", "n_tail", "stable_rank",
    "log_spectral_norm", "mp_softrank", "num_spikes", "mp_variance", "lambda_plus", "lambda_max",
    "power_law_status", "mp_status", "eq13_status", "eq13_rate", "eq13_ks",
    "gamma_exact_status", "gamma_exact_rate", "gamma_exact_ks",
)  # fmt: skip
_TABLE_COLUMNS: tuple[str, ...] = (
    "name", "n_rows", "n_cols", "alpha", "xmin", "D", "stable_rank", "log_spectral_norm",
    "mp_softrank", "num_spikes", "eq13_ks", "gamma_exact_ks",
)  # fmt: skip


class AnalyzeError(Exception):
    """A file that cannot (or must not) be loaded; the message is one line for the user."""


@dataclass
class AnalyzeResult:
    """Analysed layers (dicts with :data:`COLUMNS`) and skipped entries ``{"name", "reason"}``."""

    layers: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> str:
        """JSON object ``{"layers": [...], "skipped": [...]}``; NaN is written as ``null``."""
        layers = [{k: _json_value(v) for k, v in row.items()} for row in self.layers]
        return json.dumps({"layers": layers, "skipped": self.skipped}, indent=2, allow_nan=False)


def _json_value(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------- loading


def _pickle_streams(path: Path) -> list[bytes]:
    """The raw pickle stream(s) of a torch zip checkpoint or a plain/legacy pickle file."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            return [zf.read(n) for n in zf.namelist() if n.endswith("data.pkl")]
    return [path.read_bytes()]


def _is_wellformed_pickle(path: Path) -> bool:
    """True when the file's first pickle parses (statically: :mod:`pickletools` runs nothing)."""
    try:
        streams = _pickle_streams(path)
        if not streams:
            return False
        for stream in streams:
            ops = pickletools.genops(io.BytesIO(stream))
            if not any(op.name == "STOP" for op, _arg, _pos in ops):
                return False
        return True
    except Exception:  # noqa: BLE001 - any parse failure means "not a pickle"
        return False


def _load_safetensors(path: Path) -> dict[str, Any]:
    try:
        from safetensors.torch import load_file
    except ImportError as exc:
        raise AnalyzeError(
            f"{path}: reading .safetensors files needs the optional package 'safetensors' "
            "(pip install safetensors)"
        ) from exc
    try:
        return dict(load_file(str(path), device="cpu"))
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types
        raise AnalyzeError(f"{path}: cannot read safetensors file: {_one_line(exc)}") from exc


def load_checkpoint(path: str | Path, *, trust_pickle: bool = False) -> Any:
    """Load a checkpoint without executing pickled code unless ``trust_pickle``.

    Raises :class:`AnalyzeError` for a missing, unreadable or corrupted file and for a pickle
    that needs arbitrary code (the message names ``--trust-pickle``).
    """
    path = Path(path)
    if not path.exists():
        raise AnalyzeError(f"{path}: no such file")
    if not path.is_file():
        raise AnalyzeError(f"{path}: not a regular file")
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise AnalyzeError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if not head:
        raise AnalyzeError(f"{path}: empty file, not a checkpoint")
    if path.suffix == ".safetensors":
        return _load_safetensors(path)
    if trust_pickle:
        try:
            return torch.load(path, map_location="cpu", weights_only=False)
        except Exception as exc:  # noqa: BLE001 - arbitrary unpickling can raise anything
            if "magic number" in str(exc) and not zipfile.is_zipfile(path):
                try:  # a plain pickle (pickle.dump), not a torch.save file
                    with path.open("rb") as fh:
                        return pickle.load(fh)  # noqa: S301 - explicit --trust-pickle opt-in
                except Exception as exc2:  # noqa: BLE001
                    raise AnalyzeError(f"{path}: cannot load: {_one_line(exc2)}") from exc2
            raise AnalyzeError(f"{path}: cannot load: {_one_line(exc)}") from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # torch's "pickle protocol" notice
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if _is_wellformed_pickle(path):
            reason = str(exc).split("WeightsUnpickler error:")[-1]
            raise AnalyzeError(
                f"{path}: refused: loading needs arbitrary code execution (weights_only=True "
                f"failed: {_one_line(reason, 120)}); rerun with --trust-pickle only if you "
                "trust the file's source"
            ) from exc
        raise AnalyzeError(f"{path}: corrupted or not a PyTorch checkpoint") from exc
    except (EOFError, RuntimeError, ValueError, OSError, zipfile.BadZipFile, KeyError) as exc:
        raise AnalyzeError(
            f"{path}: corrupted or not a PyTorch checkpoint ({type(exc).__name__}: "
            f"{_one_line(exc, 120)})"
        ) from exc


# --------------------------------------------------------------------------- traversal


#: Metadata leaves (epoch counters, names, hyper-parameters): not weights, ignored silently.
_METADATA = (type(None), bool, int, float, complex, str, bytes, torch.dtype, torch.device, torch.Size)


def _iter_entries(obj: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every tensor / numpy array nested in dicts, lists and tuples (and modules' ``state_dict()``
    under ``--trust-pickle``), plus every leaf of an unknown type (reported as skipped, since it
    may hold weights this command cannot see); metadata leaves (numbers, strings) are left out."""
    if isinstance(obj, (torch.Tensor, np.ndarray)):
        yield prefix or "<root>", obj
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from _iter_entries(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            yield from _iter_entries(value, f"{prefix}.{i}" if prefix else str(i))
    elif isinstance(obj, torch.nn.Module):
        yield from _iter_entries(obj.state_dict(), prefix)
    elif not isinstance(obj, _METADATA):
        yield prefix or "<root>", obj


def _skip_reason(t: Any, min_evals: int) -> str | None:
    if not isinstance(t, (torch.Tensor, np.ndarray)):
        kind = f"{type(t).__module__}.{type(t).__qualname__}".removeprefix("builtins.")
        return f"unsupported entry of type {kind}: not a tensor, not searched for weights"
    if isinstance(t, torch.Tensor):
        if t.layout != torch.strided:
            layout = str(t.layout).replace("torch.", "")
            return f"{layout} tensor: only dense tensors are analysed (convert with .to_dense())"
        if t.is_meta:
            return "meta tensor: it holds no values"
    shape = tuple(t.shape)
    if isinstance(t, torch.Tensor):
        is_float = t.is_floating_point()
        dtype = str(t.dtype).replace("torch.", "")
    else:
        is_float = np.issubdtype(t.dtype, np.floating)
        dtype = str(t.dtype)
    if not is_float:
        return f"non-float dtype {dtype}"
    if len(shape) < 2:
        return f"{len(shape)}-D tensor of shape {shape}: not a matrix"
    if len(shape) > 2:
        return f"{len(shape)}-D tensor of shape {shape}: reshape not supported: skipped"
    if min(shape) < max(min_evals, 1):
        return f"too small: shape {shape}, min dimension {min(shape)} < min_evals={min_evals}"
    return None


def _layer_row(name: str, weight: Any, min_tail: int) -> dict[str, Any]:
    n_rows, n_cols = (int(s) for s in weight.shape)
    if isinstance(weight, torch.Tensor):  # exact for every float dtype, incl. float8 / bfloat16,
        weight = weight.detach().to(torch.float64)  # some of which lack isfinite themselves
    sigma = singular_values(weight, name=name)
    mp, pl, eq13, gexact = fit_spectrum_results(sigma, n_rows, n_cols, min_tail=min_tail)
    lam = sigma**2
    big, small = max(n_rows, n_cols), min(n_rows, n_cols)
    lam_max = float(lam[0])
    lam_plus = float(big * mp.params["lambda_plus"]) if mp.ok else math.nan
    pos = lam_max > 0
    return {
        "name": name, "n_rows": n_rows, "n_cols": n_cols, "N": small, "M": big,
        "alpha": float(pl.params["alpha"]) if pl.ok else math.nan,
        "xmin": float(pl.params["xmin"]) if pl.ok else math.nan,
        "D": float(pl.ks) if pl.ok else math.nan,
        "n_tail": int(pl.params["n_tail"]) if pl.ok else None,
        "stable_rank": float(lam.sum() / lam_max) if pos else math.nan,
        "log_spectral_norm": math.log10(lam_max) if pos else math.nan,
        "mp_softrank": lam_plus / lam_max if pos else math.nan,
        "num_spikes": int(mp.params["num_spikes"]) if mp.ok else None,
        "mp_variance": float(mp.params["variance"]) if mp.ok else math.nan,
        "lambda_plus": lam_plus,
        "lambda_max": lam_max,
        "power_law_status": pl.status,
        "mp_status": mp.status,
        "eq13_status": eq13.status,
        "eq13_rate": float(eq13.params["rate"]) if eq13.ok else math.nan,
        "eq13_ks": float(eq13.ks) if eq13.ok else math.nan,
        "gamma_exact_status": gexact.status,
        "gamma_exact_rate": float(gexact.params["rate"]) if gexact.ok else math.nan,
        "gamma_exact_ks": float(gexact.ks) if gexact.ok else math.nan,
    }  # fmt: skip


def analyze_tensors(
    obj: Any, *, min_tail: int = 10, min_evals: int = 10, progress: bool = False
) -> AnalyzeResult:
    """Analyse every dense 2-D floating tensor found in ``obj``; every other tensor, and every
    entry of an unknown type, is listed in ``skipped`` with its reason."""
    from tqdm import tqdm

    from sgdspectra.fitting import DroppedValuesWarning

    result = AnalyzeResult()
    todo: list[tuple[str, Any]] = []
    for name, t in _iter_entries(obj):
        reason = _skip_reason(t, min_evals)
        if reason is None:
            todo.append((name, t))
        else:
            result.skipped.append({"name": name, "reason": reason})
    bar = tqdm(todo, desc="analyze", unit="layer", file=sys.stderr, disable=not progress)
    for name, t in bar:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DroppedValuesWarning)  # zeros: counted in fits
                result.layers.append(_layer_row(name, t, min_tail))
        except ValueError as exc:  # non-finite entries (singular_values) or SVD failure
            reason = "non-finite values" if "non-finite" in str(exc) else "SVD failed"
            result.skipped.append({"name": name, "reason": f"{reason}: {_one_line(exc)}"})
        except (RuntimeError, NotImplementedError, TypeError) as exc:  # an exotic tensor type
            result.skipped.append({"name": name, "reason": (
                f"cannot be analysed ({type(exc).__name__}: {_one_line(exc, 120)})")})
    return result


def analyze_file(
    path: str | Path, *, trust_pickle: bool = False, min_tail: int = 10, min_evals: int = 10,
    progress: bool = False,
) -> AnalyzeResult:
    """Load ``path`` safely (:func:`load_checkpoint`) and analyse it (:func:`analyze_tensors`)."""
    obj = load_checkpoint(path, trust_pickle=trust_pickle)
    result = analyze_tensors(obj, min_tail=min_tail, min_evals=min_evals, progress=progress)
    if not (result.layers or result.skipped):
        raise AnalyzeError(f"{path}: no tensors found in the file")
    return result


# --------------------------------------------------------------------------- output


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4g}"
    return str(v)


def format_table(result: AnalyzeResult) -> str:
    """Aligned text table of the layers, then the skipped entries with their reasons."""
    lines: list[str] = []
    if result.layers:
        cells = [list(_TABLE_COLUMNS)] + [
            [_fmt(row[c]) for c in _TABLE_COLUMNS] for row in result.layers
        ]
        widths = [max(len(r[j]) for r in cells) for j in range(len(_TABLE_COLUMNS))]
        for r in cells:
            lines.append("  ".join(
                s.ljust(w) if j == 0 else s.rjust(w) for j, (s, w) in enumerate(zip(r, widths))
            ).rstrip())  # fmt: skip
    else:
        lines.append("no 2-D weight analysed")
    if result.skipped:
        lines.append("")
        lines.append(f"skipped ({len(result.skipped)}):")
        width = max(len(s["name"]) for s in result.skipped)
        lines.extend(f"  {s['name']:<{width}}  {s['reason']}" for s in result.skipped)
    return "\n".join(lines)


def write_csv(result: AnalyzeResult, path: str | Path) -> None:
    """One row per analysed layer with :data:`COLUMNS`, then skipped entries (``skipped`` column
    holds the reason, numbers empty)."""
    with Path(path).open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=[*COLUMNS, "skipped"])
        writer.writeheader()
        for row in result.layers:
            writer.writerow({**{k: ("" if v is None else v) for k, v in row.items()}, "skipped": ""})
        for s in result.skipped:
            writer.writerow({"name": s["name"], "skipped": s["reason"]})
