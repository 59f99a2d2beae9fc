"""Integration: SIGKILL the workflow mid-training, rerun it, and check that training resumed from its
side-car checkpoint and ended with the spectra of an uninterrupted run (same seed, CPU)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import xarray as xr
from conftest import snakemake_command

pytestmark = pytest.mark.integration

EVERY = 200  # train.checkpoint_every
STEPS = 6000  # long enough (seconds) to be killed well after the second checkpoint
CONFIG = f"""\
seeds: [0]
models:
  kill:
    hidden: [64, 64]
    train: {{steps: {STEPS}, batch_size: 16, lr: 0.05, momentum: 0.9, checkpoint_every: {EVERY}, log_every_s: 0.5}}
    snapshots: {{log_points: 3, log_until: 10, every: 500}}
"""
SPECTRA = "results/runs/kill/seed0/spectra.nc"
WEIGHTS = "results/runs/kill/seed0/model.pt"
TRAIN_LOG = "results/logs/train_model/kill_seed0.log"
CHECKPOINT_LINE = re.compile(r"checkpoint at step (\d+) written")


def start(workdir: Path) -> subprocess.Popen:
    """Snakemake building the training target, as the leader of its own process group."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.yaml").write_text(CONFIG)
    out = open(workdir / "snakemake.out", "wb")  # noqa: SIM115 (closed with the process)
    proc = subprocess.Popen(snakemake_command(workdir, SPECTRA), stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    out.close()
    return proc


def finish(proc: subprocess.Popen, workdir: Path, timeout: float = 300) -> None:
    rc = proc.wait(timeout=timeout)
    assert rc == 0, f"snakemake failed ({rc}):\n{(workdir / 'snakemake.out').read_text()[-4000:]}"


def last_checkpoint(workdir: Path) -> int:
    try:
        steps = CHECKPOINT_LINE.findall((workdir / TRAIN_LOG).read_text())
    except OSError:
        return 0
    return int(steps[-1]) if steps else 0


def group_members(pgid: int) -> list[int]:
    """Pids of live processes in process group ``pgid`` (from /proc, zombies excluded)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            pids.append(int(entry.name))
    return pids


def test_killed_workflow_resumes_training_and_matches_an_uninterrupted_run(tmp_path):
    t0 = time.perf_counter()
    killed, reference = tmp_path / "killed", tmp_path / "reference"
    proc = start(killed)
    ref_proc = start(reference)  # uninterrupted run of the same config, meanwhile
    try:
        deadline = time.monotonic() + 180
        while last_checkpoint(killed) < 2 * EVERY and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if proc.poll() is not None:
            pytest.fail("the workflow finished before it could be killed; make training longer\n"
                        + (killed / "snakemake.out").read_text()[-3000:])
        assert last_checkpoint(killed) >= 2 * EVERY, "no checkpoint within 180 s"
        os.killpg(proc.pid, signal.SIGKILL)  # snakemake and its job (same process group)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while group_members(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not group_members(proc.pid), "the training job survived the kill"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    killed_at = last_checkpoint(killed)
    assert killed_at < STEPS

    # a killed job leaves nothing at its declared outputs; its checkpoint stays beside them
    assert not (killed / SPECTRA).exists() and not (killed / WEIGHTS).exists()
    assert (killed / (SPECTRA + ".ckpt")).exists()

    # rerun: the lock of the killed run is stale, the job is incomplete
    subprocess.run(snakemake_command(killed, "--unlock"), capture_output=True, check=True, timeout=120)
    rerun = subprocess.run(snakemake_command(killed, SPECTRA, "--rerun-incomplete"), capture_output=True, text=True,
                           timeout=300)
    assert rerun.returncode == 0, f"rerun failed:\n{rerun.stdout[-3000:]}\n{rerun.stderr[-3000:]}"
    finish(ref_proc, reference)

    log = (killed / TRAIN_LOG).read_text()
    resumed = re.findall(r"resumed from checkpoint .* at step (\d+)", log)
    assert resumed, "the rerun did not resume from the checkpoint"
    with xr.open_dataset(killed / SPECTRA) as ds:
        ds.load()
    with xr.open_dataset(reference / SPECTRA) as ref:
        ref.load()
    assert int(ds.attrs["resumed_from_step"]) == int(resumed[-1]) > 0
    assert int(ds.attrs["resumed_from_step"]) % EVERY == 0 and int(ds.attrs["resumed_from_step"]) >= killed_at
    assert "resumed_from_step" not in ref.attrs
    assert ds.attrs["status"] == ref.attrs["status"] == "complete"
    assert int(ds.step[-1]) == STEPS
    xr.testing.assert_equal(ds, ref)  # every variable and coordinate, exactly (attributes aside)
    assert (killed / WEIGHTS).exists()
    assert not (killed / (SPECTRA + ".ckpt")).exists(), "the checkpoint is removed after a successful run"
    print(f"kill/resume workflow test: {time.perf_counter() - t0:.0f} s, killed after step {killed_at}, "
          f"resumed from step {ds.attrs['resumed_from_step']}")
