"""netCDF storage: round trips, attributes, atomic writes, appends (CASES 19-23)."""

import json
import os

import numpy as np
import pytest
import xarray as xr

from sgdspectra.io import append_steps, atomic_path, read_dataset, write_dataset
from sgdspectra.provenance import provenance_attrs, sanitize_attrs


def run_like(steps, k=3):
    steps = np.asarray(steps)
    sigma = np.tile(np.array([0.0, 1e-300, np.nan])[None, :], (steps.size, 1)) + steps[:, None] * 0
    return xr.Dataset(
        {"sigma": (("step", "k"), sigma, {"long_name": "singular values", "units": "1"}),
         "lr": ("step", np.full(steps.size, 0.1))},
        coords={"step": steps, "k": np.arange(k)},
    )


def test_round_trip_float64_no_packing_and_nan(tmp_path):  # CASES 23
    ds = run_like([0, 1])
    ds.attrs = provenance_attrs(config={"a": 1, "nested": {"b": None}}, seed=3, device="cpu",
                                flag=True, nothing=None, mixed=[1, "x"])
    path = write_dataset(ds, tmp_path / "r.nc")
    back = read_dataset(path)
    assert back.sigma.dtype == np.float64
    assert "scale_factor" not in back.sigma.encoding and "add_offset" not in back.sigma.encoding
    np.testing.assert_array_equal(back.sigma.values, ds.sigma.values)  # NaN == NaN here
    assert back.sigma.values[0, 1] == 1e-300
    assert back.attrs["seed"] == 3 and back.attrs["flag"] == 1 and back.attrs["nothing"] == ""
    assert json.loads(back.attrs["config_json"]) == {"a": 1, "nested": {"b": None}}
    for key in ("sgdspectra_version", "git_commit", "created", "torch_version", "numpy_version", "device"):
        assert key in back.attrs
    assert back.sigma.attrs["long_name"] == "singular values"


def test_sanitize_handles_any_python_type():
    out = sanitize_attrs({"b": False, "d": {"x": [1, 2]}, "n": None, "o": object(), "arr": [1.5, 2.0]})
    assert out["b"] == 0 and json.loads(out["d"]) == {"x": [1, 2]} and out["n"] == ""
    assert isinstance(out["o"], str) and list(out["arr"]) == [1.5, 2.0]


def test_overwrite_then_reopen_shows_new_content(tmp_path):  # CASES 21
    p = tmp_path / "r.nc"
    write_dataset(run_like(range(10)), p)
    assert read_dataset(p).sizes["step"] == 10
    write_dataset(run_like(range(20)), p)
    assert read_dataset(p).sizes["step"] == 20


def test_failed_write_leaves_old_file_and_no_temporary(tmp_path):  # CASES 20
    p = tmp_path / "r.nc"
    write_dataset(run_like(range(3)), p)
    before = p.read_bytes()
    with pytest.raises(RuntimeError):
        with atomic_path(p) as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError("killed")
    assert p.read_bytes() == before
    assert os.listdir(tmp_path) == ["r.nc"]


def test_reader_keeps_old_data_while_writer_replaces(tmp_path):  # CASES 20, 22
    p = tmp_path / "r.nc"
    write_dataset(run_like(range(5)), p)
    with xr.open_dataset(p) as reader:
        write_dataset(run_like(range(7)), p)
        assert reader.sizes["step"] == 5
        assert reader.sigma.values.shape == (5, 3)
    assert read_dataset(p).sizes["step"] == 7


def test_append_refuses_repeated_step(tmp_path):  # CASES 19
    p = tmp_path / "r.nc"
    append_steps(p, run_like(range(100)))
    append_steps(p, run_like(range(100, 200)))
    ds = read_dataset(p)
    np.testing.assert_array_equal(ds.step.values, np.arange(200))
    with pytest.raises(ValueError, match="already stored"):
        append_steps(p, run_like([99]))
    np.testing.assert_array_equal(read_dataset(p).step.values, np.arange(200))


def test_read_missing_file_is_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_dataset(tmp_path / "nope.nc")


def test_products_get_umask_permissions_not_0600(tmp_path):
    p = write_dataset(run_like([0]), tmp_path / "r.nc")
    umask = os.umask(0)
    os.umask(umask)
    assert (p.stat().st_mode & 0o777) == (0o666 & ~umask)
