"""``sgdspectra analyze``: safe checkpoint loading, per-layer spectra/fits, skipped entries."""

from __future__ import annotations

import csv
import json
import math
import os
import pickle

import numpy as np
import pytest
import torch

from sgdspectra.analyze import AnalyzeError, analyze_file, load_checkpoint
from sgdspectra.cli import main
from sgdspectra.fitting import fit_marchenko_pastur


class _Payload:
    """Unpickling this object opens (creates) ``path``: the 'malicious' side effect."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def _mlp_state_dict() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(
        torch.nn.Linear(60, 40), torch.nn.ReLU(), torch.nn.Linear(40, 30), torch.nn.ReLU(),
        torch.nn.Linear(30, 12),
    )
    return mlp.state_dict()


def _known_spectrum_matrix(s: np.ndarray, m: int, seed: int = 1) -> np.ndarray:
    """``U diag(s) V^T`` of shape (m, len(s)) with orthonormal U, V: singular values are ``s``."""
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((m, s.size)))
    v, _ = np.linalg.qr(rng.standard_normal((s.size, s.size)))
    return (u * s) @ v.T


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_state_dict_every_weight_analysed(tmp_path, capsys):
    sd = _mlp_state_dict()
    path = tmp_path / "mlp.pt"
    torch.save(sd, path)
    code, out, err = _run(["analyze", str(path), "--json", "--quiet"], capsys)
    assert code == 0, err
    data = json.loads(out)
    by_name = {row["name"]: row for row in data["layers"]}
    expected_2d = {k for k, v in sd.items() if v.ndim == 2}
    assert set(by_name) == expected_2d
    for name in expected_2d:
        row = by_name[name]
        assert (row["n_rows"], row["n_cols"]) == tuple(sd[name].shape)
        assert math.isfinite(row["alpha"]) and row["alpha"] > 1
        lam = np.linalg.svd(sd[name].double().numpy(), compute_uv=False) ** 2
        assert row["stable_rank"] == pytest.approx(lam.sum() / lam.max(), rel=1e-9)
        assert row["log_spectral_norm"] == pytest.approx(np.log10(lam.max()), rel=1e-9)
    # biases (1-D) are listed as skipped, not dropped
    skipped = {s["name"]: s["reason"] for s in data["skipped"]}
    assert {k for k, v in sd.items() if v.ndim == 1} <= set(skipped)


def test_known_spectrum_definitions(tmp_path):
    s = np.linspace(0.5, 2.0, 24)  # orthogonal factors, chosen singular values
    w = _known_spectrum_matrix(s, 48)
    path = tmp_path / "w.pt"
    torch.save({"w": torch.from_numpy(w)}, path)
    (row,) = analyze_file(path).layers
    lam = s**2
    assert row["stable_rank"] == pytest.approx(lam.sum() / lam.max(), rel=1e-10)
    assert row["log_spectral_norm"] == pytest.approx(2 * math.log10(2.0), rel=1e-10)
    assert row["lambda_max"] == pytest.approx(4.0, rel=1e-10)
    mp = fit_marchenko_pastur(np.sort(lam)[::-1] / 48, 24 / 48)
    assert row["mp_softrank"] == pytest.approx(48 * mp.lambda_plus / 4.0, rel=1e-9)
    assert row["num_spikes"] == int(np.count_nonzero(lam > 48 * mp.lambda_plus))
    # exactly orthonormal columns: every singular value 1, stable rank = N
    q, _ = np.linalg.qr(np.random.default_rng(2).standard_normal((30, 15)))
    torch.save({"q": torch.from_numpy(q)}, path)
    (row,) = analyze_file(path).layers
    assert row["stable_rank"] == pytest.approx(15.0, rel=1e-9)
    assert row["log_spectral_norm"] == pytest.approx(0.0, abs=1e-12)


def test_nested_checkpoint_with_optimizer(tmp_path, capsys):
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(30, 20), torch.nn.Linear(20, 10))
    opt = torch.optim.Adam(mlp.parameters())
    mlp(torch.randn(4, 30)).sum().backward()
    opt.step()
    path = tmp_path / "ckpt.pt"
    torch.save({"model": mlp.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}, path)
    code, out, err = _run(["analyze", str(path), "--json", "--quiet"], capsys)
    assert code == 0, err
    names = {row["name"] for row in json.loads(out)["layers"]}
    assert {"model.0.weight", "model.1.weight"} <= names
    # optimizer moments of the 2-D weights are 2-D float tensors too: analysed, with nested names
    assert "optimizer.state.0.exp_avg" in names
    skipped = {s["name"] for s in json.loads(out)["skipped"]}
    assert "model.0.bias" in skipped and "optimizer.state.0.step" in skipped


def test_skipped_entries_listed_with_reasons(tmp_path, capsys):
    torch.manual_seed(0)
    sd = {
        "fc.weight": torch.randn(40, 20),
        "fc.bias": torch.randn(40),
        "conv.weight": torch.randn(8, 3, 3, 3),
        "counts": torch.randint(0, 5, (20, 20)),
        "tiny.weight": torch.randn(5, 3),
        "bad.weight": torch.full((20, 20), float("nan")),
    }
    path = tmp_path / "mixed.pt"
    torch.save(sd, path)
    code, out, err = _run(["analyze", str(path), "--quiet"], capsys)
    assert code == 0, err
    data = analyze_file(path)
    assert [row["name"] for row in data.layers] == ["fc.weight"]
    reasons = {s["name"]: s["reason"] for s in data.skipped}
    assert set(reasons) == set(sd) - {"fc.weight"}
    assert "1-D" in reasons["fc.bias"]
    assert "reshape not supported: skipped" in reasons["conv.weight"]
    assert "non-float" in reasons["counts"]
    assert "too small" in reasons["tiny.weight"]
    assert "non-finite" in reasons["bad.weight"]
    # the text table names every skipped entry
    for name in reasons:
        assert name in out
    assert "skipped (5):" in out


def test_csv_output(tmp_path, capsys):
    path = tmp_path / "mlp.pt"
    sd = _mlp_state_dict()
    torch.save(sd, path)
    out_csv = tmp_path / "out.csv"
    code, _, err = _run(["analyze", str(path), "--csv", str(out_csv), "--quiet"], capsys)
    assert code == 0, err
    with out_csv.open() as fh:
        rows = list(csv.DictReader(fh))
    layers = [r for r in rows if not r["skipped"]]
    assert {r["name"] for r in layers} == {k for k, v in sd.items() if v.ndim == 2}
    assert all(math.isfinite(float(r["alpha"])) for r in layers)
    assert {r["name"] for r in rows if r["skipped"]} == {k for k, v in sd.items() if v.ndim == 1}


@pytest.mark.parametrize("content", [os.urandom(4096), b"", b"PK\x03\x04garbage"])
def test_corrupted_file_exit_2(tmp_path, capsys, content):
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    code, out, err = _run(["analyze", str(path)], capsys)
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1
    assert str(path) in err and "--trust-pickle" not in err


def test_missing_file_exit_2(tmp_path, capsys):
    code, _, err = _run(["analyze", str(tmp_path / "nope.pt")], capsys)
    assert code == 2 and "no such file" in err


@pytest.mark.parametrize("writer", ["torch", "pickle"])
def test_malicious_pickle_refused(tmp_path, capsys, writer):
    marker = tmp_path / "PWNED"
    payload = {"w": torch.randn(20, 20), "evil": _Payload(str(marker))}
    path = tmp_path / "evil.pt"
    if writer == "torch":
        torch.save(payload, path)
    else:
        with path.open("wb") as fh:
            pickle.dump(payload, fh)
    assert not marker.exists()
    code, out, err = _run(["analyze", str(path)], capsys)
    assert code == 2
    assert "--trust-pickle" in err and err.count("\n") == 1
    assert not marker.exists(), "the pickled payload ran"
    with pytest.raises(AnalyzeError, match="--trust-pickle"):
        load_checkpoint(path)
    assert not marker.exists()
    # the payload is real: the explicit opt-in runs it (this is what the refusal prevents)
    load_checkpoint(path, trust_pickle=True)
    assert marker.exists()


def test_trust_pickle_loads_plain_pickle(tmp_path, capsys):
    w = _known_spectrum_matrix(np.linspace(1.0, 3.0, 16), 32)
    path = tmp_path / "np.pkl"
    with path.open("wb") as fh:
        pickle.dump({"layer": {"weight": w}}, fh, protocol=4)
    code, _, err = _run(["analyze", str(path)], capsys)
    assert code == 2 and "--trust-pickle" in err
    code, out, err = _run(["analyze", str(path), "--trust-pickle", "--json", "--quiet"], capsys)
    assert code == 0, err
    (row,) = json.loads(out)["layers"]
    assert row["name"] == "layer.weight"
    lam = np.linspace(1.0, 3.0, 16) ** 2
    assert row["stable_rank"] == pytest.approx(lam.sum() / lam.max(), rel=1e-10)


def test_safetensors_without_package(tmp_path, capsys):
    try:
        import safetensors  # noqa: F401
    except ImportError:
        path = tmp_path / "m.safetensors"
        path.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
        code, _, err = _run(["analyze", str(path)], capsys)
        assert code == 2 and "safetensors" in err
    else:
        from safetensors.torch import save_file

        path = tmp_path / "m.safetensors"
        save_file({"w": torch.randn(30, 20), "b": torch.randn(30)}, str(path))
        result = analyze_file(path)
        assert [r["name"] for r in result.layers] == ["w"]
        assert [s["name"] for s in result.skipped] == ["b"]


def test_progress_bar_on_stderr_only_when_enabled(capsys):
    from sgdspectra.analyze import analyze_tensors

    sd = {"a": torch.randn(30, 20), "b": torch.randn(20, 20)}
    analyze_tensors(sd, progress=True)
    out, err = capsys.readouterr()
    assert out == "" and "analyze" in err and "2/2" in err
    analyze_tensors(sd, progress=False)
    assert capsys.readouterr() == ("", "")


def test_unknown_tensor_types_listed_not_crashing(tmp_path, capsys):
    """Tensors of layouts, dtypes or devices that this command cannot analyse are listed in
    ``skipped`` with their reason; low-precision float formats are analysed (exactly upcast)."""
    from sgdspectra.analyze import analyze_tensors

    import warnings

    torch.manual_seed(0)
    dense = torch.randn(30, 20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "beta" (sparse CSR) / "deprecated" (quantized)
        sd = {
            "dense.weight": dense,
            "sparse_coo.weight": dense.to_sparse(),
            "sparse_csr.weight": dense.to_sparse_csr(),
            "complex.weight": torch.randn(30, 20, dtype=torch.complex64),
            "quantized.weight": torch.quantize_per_tensor(dense, 0.1, 0, torch.qint8),
            "half.weight": dense.half(),
            "bf16.weight": dense.bfloat16(),
            "f8.weight": dense.to(torch.float8_e4m3fn),
        }
    path = tmp_path / "odd.pt"
    torch.save(sd, path)
    code, out, err = _run(["analyze", str(path), "--json", "--quiet"], capsys)
    assert code == 0, err
    data = json.loads(out)
    reasons = {s["name"]: s["reason"] for s in data["skipped"]}
    assert set(reasons) == {"sparse_coo.weight", "sparse_csr.weight", "complex.weight", "quantized.weight"}
    assert "sparse_coo tensor" in reasons["sparse_coo.weight"] and ".to_dense()" in reasons["sparse_coo.weight"]
    assert "sparse_csr tensor" in reasons["sparse_csr.weight"]
    assert "non-float dtype complex64" in reasons["complex.weight"]
    assert "non-float dtype qint8" in reasons["quantized.weight"]
    rows = {r["name"]: r for r in data["layers"]}
    assert set(rows) == {"dense.weight", "half.weight", "bf16.weight", "f8.weight"}
    for name in ("half.weight", "bf16.weight", "f8.weight"):  # the values of the stored tensor
        lam = np.linalg.svd(sd[name].double().numpy(), compute_uv=False) ** 2
        assert rows[name]["lambda_max"] == pytest.approx(lam[0], rel=1e-9)
    # a meta tensor (no values) is skipped, not analysed
    result = analyze_tensors({"meta.weight": torch.empty(30, 20, device="meta")})
    assert result.layers == [] and "meta tensor" in result.skipped[0]["reason"]


def test_unknown_object_listed_under_trust_pickle(tmp_path, capsys):
    """A trusted checkpoint holding an object of an unknown type (here argparse.Namespace, as
    training scripts often save): the weights are analysed, the object is listed as skipped,
    metadata leaves (numbers, strings) are left out."""
    import argparse

    sd = _mlp_state_dict()
    path = tmp_path / "ckpt.pt"
    torch.save({"model": sd, "args": argparse.Namespace(lr=0.1), "epoch": 7, "note": "x"}, path)
    code, _, err = _run(["analyze", str(path)], capsys)
    assert code == 2 and "--trust-pickle" in err  # weights_only refuses the Namespace
    code, out, err = _run(["analyze", str(path), "--trust-pickle", "--json", "--quiet"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert {r["name"] for r in data["layers"]} == {f"model.{k}" for k, v in sd.items() if v.ndim == 2}
    reasons = {s["name"]: s["reason"] for s in data["skipped"]}
    assert "argparse.Namespace" in reasons["args"] and "not a tensor" in reasons["args"]
    assert "epoch" not in reasons and "note" not in reasons
    # the text table lists it too
    code, out, _ = _run(["analyze", str(path), "--trust-pickle", "--quiet"], capsys)
    assert code == 0 and "args" in out and "argparse.Namespace" in out


def test_truncated_checkpoint_exit_2(tmp_path, capsys):
    """A real checkpoint cut short (an interrupted copy or download) is reported as corrupted."""
    path = tmp_path / "mlp.pt"
    torch.save(_mlp_state_dict(), path)
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 100):
        bad = tmp_path / f"cut{cut}.pt"
        bad.write_bytes(data[:cut])
        code, out, err = _run(["analyze", str(bad)], capsys)
        assert code == 2 and out == ""
        assert err.startswith("error: ") and err.count("\n") == 1 and str(bad) in err
        assert "--trust-pickle" not in err
