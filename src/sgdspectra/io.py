"""Reading and writing products: atomic writes, netCDF without packing, step-safe appends.

Every writer writes to a temporary name in the destination folder and renames it when complete,
so a reader never sees a partial file and a killed job leaves nothing at the output path
(CASES 20, 22). Readers load the data and close the file at once (no handle outlives the call, no
stale cache after an overwrite: CASES 21).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from .provenance import sanitize_attrs

log = logging.getLogger(__name__)

__all__ = [
    "IncompleteRunError",
    "write_csv",
    "write_text",
    "append_steps",
    "atomic_path",
    "read_csvs",
    "read_dataset",
    "read_run",
    "require_complete",
    "write_dataset",
]


class IncompleteRunError(RuntimeError):
    """A run file is marked incomplete (e.g. training diverged); downstream work refuses it."""


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds.

    On an exception the temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates the file with mode 0600; give the product the usual umask-based mode.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _encoding(ds: xr.Dataset) -> dict[str, dict]:
    enc: dict[str, dict] = {}
    for name, var in ds.variables.items():
        if var.dtype.kind == "f":
            # float64 stays float64: no scale_factor/add_offset packing, lossless compression.
            enc[name] = {"dtype": var.dtype.str.lstrip("<>="), "zlib": True, "complevel": 4, "_FillValue": np.nan}
        elif var.dtype.kind in "iu":
            enc[name] = {"_FillValue": None}
    return enc


def write_text(text: str, path: str | os.PathLike) -> Path:
    """Write UTF-8 text to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_csv(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a pandas DataFrame as CSV (no index) atomically."""
    return write_text(df.to_csv(index=False), path)


def write_dataset(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write ``ds`` to netCDF-4 at ``path`` atomically, with attributes sanitised."""
    ds = ds.copy(deep=False)
    ds.attrs = sanitize_attrs(ds.attrs)
    for name in ds.variables:
        ds[name].attrs = sanitize_attrs(ds[name].attrs)
    with atomic_path(path, suffix=".tmp.nc") as tmp:
        ds.to_netcdf(tmp, engine="netcdf4", format="NETCDF4", encoding=_encoding(ds))
    log.info("wrote %s", path)
    return Path(path)


def read_dataset(path: str | os.PathLike) -> xr.Dataset:
    """Load a netCDF file fully into memory and close it."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    with xr.open_dataset(path, engine="netcdf4", cache=False) as ds:
        return ds.load()


def read_csvs(paths: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """Concatenate the CSV files at ``paths`` (same columns, or a union) into one frame, new index."""
    return pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)


def read_run(path: str | os.PathLike) -> xr.Dataset:
    """Load a run file and refuse it if it is incomplete (e.g. training diverged)."""
    return require_complete(read_dataset(path), path)


def require_complete(ds: xr.Dataset, path: str | os.PathLike | None = None) -> xr.Dataset:
    """Return ``ds`` if it is a complete run; raise :class:`IncompleteRunError` otherwise."""
    status = ds.attrs.get("status", "complete")
    if status != "complete":
        where = f"{path}: " if path else ""
        raise IncompleteRunError(
            f"{where}run is marked {status!r} ({ds.attrs.get('message', 'no message')}); "
            "refusing to analyse an incomplete run. Fix the configuration (e.g. a smaller lr) "
            "and rerun training."
        )
    return ds


def append_steps(path: str | os.PathLike, new: xr.Dataset, dim: str = "step") -> xr.Dataset:
    """Add the snapshots in ``new`` to the file at ``path`` (created if missing), atomically.

    A step already present is refused (``ValueError``), never duplicated; the result's step
    coordinate is unique and increasing (CASES 19).
    """
    path = Path(path)
    if path.exists():
        old = read_dataset(path)
        repeated = np.intersect1d(old[dim].values, new[dim].values)
        if repeated.size:
            raise ValueError(f"{path}: {dim}(s) {repeated.tolist()} already stored; refusing to duplicate")
        merged = xr.concat([old, new], dim=dim, data_vars="minimal", coords="minimal", join="outer")
        merged = merged.sortby(dim)
        merged.attrs = old.attrs
    else:
        merged = new.sortby(dim)
    values = merged[dim].values
    if np.unique(values).size != values.size:
        raise ValueError(f"{path}: {dim} coordinate of the new data is not unique")
    write_dataset(merged, path)
    return merged
