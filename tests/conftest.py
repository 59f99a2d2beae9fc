"""Shared test fixtures: small synthetic products that follow docs/data-format.md exactly."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest
import xarray as xr

#: PyTorch shapes (n_rows, n_cols) of the synthetic matrices.
SHAPES: dict[str, tuple[int, int]] = {
    "layers.0": (32, 16),
    "layers.1": (32, 32),
    "head": (4, 32),
}
KINDS: dict[str, str] = {"layers.0": "mlp_in", "layers.1": "mlp_hidden", "head": "mlp_out"}
STEPS: tuple[int, ...] = (0, 10, 20, 40)
LR = 0.05

FIT_COLUMNS: tuple[str, ...] = (
    "model", "seed", "matrix", "kind", "n_rows", "n_cols", "step", "law", "status", "message",
    "n_values", "n_zeros", "n_params", "loglik", "aic", "ks", "alpha", "alpha_se", "xmin",
    "n_tail", "reliable", "variance", "q", "lambda_minus", "lambda_plus", "num_spikes",
    "shape", "rate",
)  # fmt: skip


def z_score(sample: np.ndarray, expected: float) -> float:
    """(sample mean - expected) in units of the standard error of the mean."""
    return float((sample.mean() - expected) / (sample.std(ddof=1) / np.sqrt(sample.size)))


def normalized(w: np.ndarray) -> np.ndarray:
    """The paper's normalisation (W - mean) / (std * sqrt(M)), population std."""
    std = w.std()
    if std == 0:
        return np.zeros_like(w)
    return (w - w.mean()) / (std * np.sqrt(max(w.shape)))


def make_run_dataset(
    shapes: dict[str, tuple[int, int]] | None = None,
    steps: Sequence[int] = STEPS,
    seed: int = 0,
) -> xr.Dataset:
    """A run file (spectra.nc layout) of Gaussian weights drifting under random updates."""
    shapes = SHAPES if shapes is None else shapes
    rng = np.random.default_rng(seed)
    names = list(shapes)
    n_k = max(min(s) for s in shapes.values())
    sigma = np.full((len(steps), len(names), n_k), np.nan)
    sigma_norm = np.full_like(sigma, np.nan)
    weights = {m: rng.normal(0.0, 1.0 / np.sqrt(c), size=(r, c)) for m, (r, c) in shapes.items()}
    for i, step in enumerate(steps):
        for j, m in enumerate(names):
            if i > 0:
                weights[m] = weights[m] + 0.01 * (step - steps[i - 1]) * rng.normal(
                    0.0, 1.0 / np.sqrt(shapes[m][1]), size=shapes[m]
                )
            n = min(shapes[m])
            sigma[i, j, :n] = np.linalg.svd(weights[m], compute_uv=False)
            sigma_norm[i, j, :n] = np.linalg.svd(normalized(weights[m]), compute_uv=False)
    n_iter = int(steps[-1])
    iteration = np.arange(1, n_iter + 1, dtype=np.int64)
    frac = np.asarray(steps, dtype=float) / max(steps[-1], 1)

    def var(dims: tuple[str, ...], data: np.ndarray, long_name: str, units: str) -> xr.Variable:
        return xr.Variable(dims, data, attrs={"long_name": long_name, "units": units})

    return xr.Dataset(
        data_vars={
            "sigma": var(("step", "matrix", "k"), sigma, "singular values", "1"),
            "sigma_normalized": var(("step", "matrix", "k"), sigma_norm,
                                    "singular values of the normalised weight", "1"),
            "train_loss": var(("step",), 2.3 - 1.5 * frac, "train loss", "nat"),
            "val_loss": var(("step",), 2.3 - 1.3 * frac, "validation loss", "nat"),
            "train_accuracy": var(("step",), 0.1 + 0.8 * frac, "train accuracy", "1"),
            "val_accuracy": var(("step",), 0.1 + 0.75 * frac, "validation accuracy", "1"),
            "lr": var(("step",), np.full(len(steps), LR), "learning rate", "1"),
            "batch_loss": var(("iteration",), 2.3 - 1.5 * iteration / max(n_iter, 1)
                              + 0.1 * rng.normal(size=n_iter), "minibatch loss", "nat"),
        },
        coords={
            "step": ("step", np.asarray(steps, dtype=np.int64)),
            "matrix": ("matrix", np.asarray(names, dtype=str)),
            "k": ("k", np.arange(n_k, dtype=np.int64)),
            "n_rows": ("matrix", np.asarray([shapes[m][0] for m in names], dtype=np.int64)),
            "n_cols": ("matrix", np.asarray([shapes[m][1] for m in names], dtype=np.int64)),
            "kind": ("matrix", np.asarray([KINDS.get(m, "mlp_hidden") for m in names], dtype=str)),
            "iteration": ("iteration", iteration),
        },
        attrs={"title": "synthetic run", "seed": seed, "status": "complete",
               "orientation": "analysis orientation M = max(n_rows, n_cols)"},
    )


def make_fit_table(ds: xr.Dataset, model: str = "mlp") -> pd.DataFrame:
    """A fit table with plausible rows at every step; ``head`` (4 values) is ``too_few_values``."""
    rows = []
    for step in ds["step"].values:
        for m in ds["matrix"].values:
            r, c = int(ds["n_rows"].sel(matrix=m)), int(ds["n_cols"].sel(matrix=m))
            sig = ds["sigma"].sel(matrix=m, step=step).values
            lam = sig[np.isfinite(sig)] ** 2
            base = {"model": model, "seed": int(ds.attrs["seed"]), "matrix": str(m),
                    "kind": str(ds["kind"].sel(matrix=m).values), "n_rows": r, "n_cols": c,
                    "step": int(step), "n_values": lam.size, "n_zeros": 0}
            for law in ("marchenko_pastur", "power_law", "eq13", "gamma_exact"):
                row = dict.fromkeys(FIT_COLUMNS, np.nan) | base | {"law": law}
                if lam.size < 10:
                    row |= {"status": "too_few_values", "message": "4 values < 10"}
                    rows.append(row)
                    continue
                mean, v = lam.mean(), lam.var()
                row |= {"status": "ok", "message": "", "n_params": 2, "ks": 0.1, "loglik": -1.0}
                if law == "marchenko_pastur":
                    row |= {"variance": mean / max(r, c), "q": min(r, c) / max(r, c),
                            "num_spikes": 0}
                elif law == "power_law":
                    xmin = float(np.median(lam))
                    row |= {"alpha": 3.0, "xmin": xmin, "n_tail": int((lam >= xmin).sum())}
                else:
                    row |= {"shape": mean**2 / v, "rate": mean / v}
                rows.append(row)
    return pd.DataFrame(rows, columns=list(FIT_COLUMNS))


def make_sde_dataset(
    ds: xr.Dataset, matrix: str, n_replicas: int = 6, shift: float = 0.0, noise: float = 0.05,
    seed: int = 1,
) -> xr.Dataset:
    """An SDE file (matrix_ou.nc layout) whose λ are the observed λ plus ``shift``, jittered.

    With ``noise = 0`` every replica equals the observed spectrum plus ``shift`` exactly.
    """
    rng = np.random.default_rng(seed)
    n = int(min(ds["n_rows"].sel(matrix=matrix), ds["n_cols"].sel(matrix=matrix)))
    lam_obs = ds["sigma"].sel(matrix=matrix).transpose("step", "k").values[:, :n] ** 2
    jitter = np.exp(noise * rng.normal(size=(n_replicas, *lam_obs.shape)))
    lam = np.sort(lam_obs[None] * jitter + shift, axis=-1)[..., ::-1]
    steps = ds["step"].values.astype(np.int64)
    lr = float(ds["lr"].values[0])
    return xr.Dataset(
        {"lam": (("replica", "t", "k"), lam, {"long_name": "squared singular values",
                                              "units": "1"})},
        coords={"replica": np.arange(n_replicas, dtype=np.int64), "t": ("t", lr * steps),
                "k": np.arange(n, dtype=np.int64), "step": ("t", steps)},
        attrs={"scheme": "exact_ou", "m": max(ds["n_rows"].sel(matrix=matrix).item(),
                                               ds["n_cols"].sel(matrix=matrix).item()),
               "n": n, "s": 1e-3, "gamma": 1e-2, "seed": seed, "n_replicas": n_replicas},
    )


@pytest.fixture(scope="session")
def run_dataset() -> xr.Dataset:
    """Three matrices (32×16, 32×32, 4×32), four steps."""
    return make_run_dataset()


@pytest.fixture(scope="session")
def fit_table(run_dataset: xr.Dataset) -> pd.DataFrame:
    """Fit table matching :func:`run_dataset`."""
    return make_fit_table(run_dataset)


@pytest.fixture(scope="session")
def sde_datasets(run_dataset: xr.Dataset) -> dict[str, xr.Dataset]:
    """SDE outputs for two of the three matrices."""
    return {m: make_sde_dataset(run_dataset, m) for m in ("layers.0", "head")}


def write_fake_mnist(folder, n_train: int = 64, n_test: int = 32, seed: int = 0) -> dict[str, str]:
    """Write small valid MNIST-format gzip files into ``folder``; return their SHA-256 by name."""
    import gzip
    import hashlib
    import struct
    from pathlib import Path

    from sgdspectra.mnist import MNIST_FILES

    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, size=n_train).astype(np.uint8),
        "test_images": rng.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, size=n_test).astype(np.uint8),
    }
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    hashes = {}
    for role, filename in MNIST_FILES.items():
        a = arrays[role]
        header = bytes([0, 0, 0x08, a.ndim]) + b"".join(struct.pack(">I", d) for d in a.shape)
        data = gzip.compress(header + a.tobytes())
        (folder / filename).write_bytes(data)
        hashes[filename] = hashlib.sha256(data).hexdigest()
    return hashes


def write_fake_cifar10(folder, n_per_batch: int = 16, seed: int = 0) -> tuple[str, dict[str, np.ndarray]]:
    """Write a small valid cifar-10-binary.tar.gz into ``folder`` (five training batches and a test
    batch of ``n_per_batch`` records each, plus the archive's text files); return its SHA-256 and
    the arrays it holds (``x_train`` (n, 3, 32, 32) uint8, ``y_train``, ``x_test``, ``y_test``).
    The records are encoded here independently of the parser under test."""
    import hashlib
    from pathlib import Path

    rng = np.random.default_rng(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    batches = {f"data_batch_{i}.bin": "train" for i in range(1, 6)} | {"test_batch.bin": "test"}
    arrays: dict[str, list[np.ndarray]] = {"x_train": [], "y_train": [], "x_test": [], "y_test": []}
    classes = "airplane automobile bird cat deer dog frog horse ship truck".split()
    members: dict[str, bytes] = {"batches.meta.txt": "\n".join(classes).encode() + b"\n"}
    for name, split in batches.items():
        x = rng.integers(0, 256, size=(n_per_batch, 3, 32, 32), dtype=np.uint8)
        y = rng.integers(0, 10, size=n_per_batch).astype(np.uint8)
        # One record: the label byte, then the red, green and blue 32x32 planes, row-major.
        members[name] = b"".join(bytes([int(label)]) + image.tobytes() for label, image in zip(y, x))
        arrays[f"x_{split}"].append(x)
        arrays[f"y_{split}"].append(y.astype(np.int64))
    data = cifar_archive_bytes(members)
    (folder / "cifar-10-binary.tar.gz").write_bytes(data)
    return hashlib.sha256(data).hexdigest(), {k: np.concatenate(v) for k, v in arrays.items()}


def cifar_archive_bytes(members: dict[str, bytes], symlink: str | None = None) -> bytes:
    """A gzipped tar with ``members`` under cifar-10-batches-bin/ (and optionally a symlink member
    of that name pointing outside the archive)."""
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if symlink:
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{symlink}")
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(info)
    return buf.getvalue()


@contextlib.contextmanager
def serve_directory(root):
    """Serve ``root`` over HTTP on 127.0.0.1 (a free port) in a thread; yield (base URL, request
    paths seen). Used by the download tests: no test ever reaches a host off this machine."""
    import functools
    import http.server
    import threading

    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            requests.append(self.path)
            super().do_GET()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", requests
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def snakemake_command(workdir, *args: str, cores: int | None = 2, configfile=None) -> list[str]:
    """The command running this repository's workflow in ``workdir`` with ``configfile`` (default
    ``workdir/config.yaml``). The config file comes last: ``--configfile`` takes several values, so
    targets in ``args`` must not follow it."""
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    return [sys.executable, "-m", "snakemake", "-s", str(repo / "Snakefile"), "--directory", str(workdir),
            *(["--cores", str(cores)] if cores else []), *args,
            "--configfile", str(configfile or Path(workdir) / "config.yaml")]


def run_snakemake(workdir, *args: str, check: bool = True, timeout: float = 300, cores: int | None = 2,
                  configfile=None, env=None):
    """Run :func:`snakemake_command`; with ``check``, a failure raises with the end of its output."""
    import subprocess

    cmd = snakemake_command(workdir, *args, cores=cores, configfile=configfile)
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def apt_install(packages: list[str], missing) -> str | None:
    """Install Debian ``packages`` with apt-get (as root, or with password-less sudo), updating the
    package lists once if the first attempt fails, while maintainer scripts may not start daemons
    (policy-rc.d). Returns None on success (``missing()`` then returns nothing), else the reason."""
    import contextlib
    import os
    import shutil
    import subprocess
    from pathlib import Path

    apt = shutil.which("apt-get")
    if apt is None:
        return f"{' '.join(packages)}: there is no apt-get (not a Debian system)"
    prefix = []
    if os.geteuid() != 0:
        sudo = shutil.which("sudo")
        if sudo is None or subprocess.run([sudo, "-n", "true"], capture_output=True).returncode != 0:
            return f"{' '.join(packages)}: installing needs root or password-less sudo (uid {os.geteuid()})"
        prefix = [sudo, "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    opts = ["-q", "-y", "-o", "DPkg::Lock::Timeout=300"]
    install = [*prefix, apt, *opts, "install", "--no-install-recommends", *packages]

    def run(cmd: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)

    @contextlib.contextmanager
    def no_service_starts():
        policy = Path("/usr/sbin/policy-rc.d")
        created = os.geteuid() == 0 and not policy.exists()
        if created:
            policy.write_text("#!/bin/sh\n# written by sgdspectra's tests while installing\nexit 101\n")
            policy.chmod(0o755)
        try:
            yield
        finally:
            if created:
                policy.unlink(missing_ok=True)

    try:
        with no_service_starts():
            proc = run(install)
            if proc.returncode != 0:  # stale or absent package lists: update once, then retry
                update = run([*prefix, apt, *opts, "update"])
                if update.returncode != 0:
                    return f"apt-get update failed ({update.returncode}): {update.stderr.strip()[-800:]}"
                proc = run(install)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"apt-get install {' '.join(packages)} failed: {exc}"
    if proc.returncode != 0:
        return f"apt-get install {' '.join(packages)} failed ({proc.returncode}): {proc.stderr.strip()[-800:]}"
    still = missing()
    if still:
        return f"after apt-get install, {still} are still missing"
    return None


@pytest.fixture(scope="session")
def tiny_workflow(tmp_path_factory):
    """The real workflow run once on config/tiny.yaml in a temporary directory, shared by the
    workflow and report tests: (work directory, finished process, wall seconds)."""
    import shutil
    import time
    from pathlib import Path

    workdir = tmp_path_factory.mktemp("wf")
    shutil.copy(Path(__file__).resolve().parents[1] / "config" / "tiny.yaml", workdir / "config.yaml")
    t0 = time.perf_counter()
    proc = run_snakemake(workdir)
    return workdir, proc, time.perf_counter() - t0
