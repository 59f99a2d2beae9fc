"""Integration: the tiny workflow through ``profiles/slurm`` on a real single-node SLURM cluster.

The module fixture installs Debian's ``slurmctld``, ``slurmd``, ``slurm-client`` and ``munge`` with
apt-get when they are missing (the test is skipped, with the reason, where that is impossible),
starts ``munged``, ``slurmctld`` and ``slurmd`` on 127.0.0.1 with a configuration written into a
temporary directory (``SLURM_CONF``; template ``tests/slurm/slurm.conf.in``: no accounting
database, ``select/cons_tres``, ``proctrack/linuxproc``, so neither cgroups nor systemd are needed),
and afterwards cancels every job and stops the daemons by pid, whatever the outcome.

The workflow runs with the profile as it is, except the placeholders (partition, account) and the
training rule's GPU request (``gpu=0``: no GPU here), given on the command line, and with the
plugin's squeue-based status command (no ``sacct`` without accounting). Its spectra must equal
those of a local run of the same config (CASES 25).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import string
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import xarray as xr
from conftest import apt_install, run_snakemake
import yaml

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = Path(__file__).resolve().parent / "slurm" / "slurm.conf.in"
pytestmark = [pytest.mark.slurm, pytest.mark.integration]

#: executable -> Debian package that ships it
EXECUTABLES = {"slurmctld": "slurmctld", "slurmd": "slurmd", "sbatch": "slurm-client", "squeue": "slurm-client",
               "sinfo": "slurm-client", "scancel": "slurm-client", "scontrol": "slurm-client", "munged": "munge"}
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])
CLUSTER_NAME = "sgdspectra-test"
PARTITION = "sgdtest"
ACCOUNT = "sgdtest"
NODE = "sgdnode"
NODE_CPUS = 8  # declared, not detected (SlurmdParameters=config_overrides): the profile asks 4 threads
NODE_MEM_MB = 64000  # the profile asks 16 GB for training; nothing is enforced


DEFAULT_CONF = Path("/etc/slurm/slurm.conf")  # where srun looks when SLURM_CONF is unset (Debian)


class ClusterUnavailable(Exception):
    """This machine cannot host the test cluster (the reason is the message)."""


def which(exe: str) -> str | None:
    return shutil.which(exe, path=SEARCH_PATH)


def missing_packages() -> list[str]:
    return sorted({pkg for exe, pkg in EXECUTABLES.items() if which(exe) is None})


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path: Path, n: int = 3000) -> str:
    try:
        return f"--- {path.name} ---\n{path.read_text(errors='replace')[-n:]}"
    except OSError:
        return f"--- {path.name}: absent ---"


class LocalSlurm:
    """munged + slurmctld + slurmd of one node on 127.0.0.1, everything under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.conf = root / "slurm.conf"
        self.munge_socket = root / "munge" / "munge.socket"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}
        self.daemons: dict[str, subprocess.Popen] = {}
        self.linked_default = False

    # -- daemons -------------------------------------------------------------------------------
    def _spawn(self, name: str, cmd: list[str]) -> None:
        out = open(self.root / f"{name}.out", "wb")  # noqa: SIM115 (closed with the process)
        self.daemons[name] = subprocess.Popen(cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                              stdin=subprocess.DEVNULL, start_new_session=True)
        out.close()

    def _wait(self, what: str, ready, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.daemons.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode} while waiting for {what}\n{self.logs()}")
            if ready():
                return
            time.sleep(0.3)
        raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}\n{self.logs()}")

    def logs(self) -> str:
        names = ["munged.out", "munged.log", "slurmctld.out", "slurmctld.log", "slurmd.out", "slurmd.log"]
        return "\n".join(tail(self.root / n) for n in names)

    def command(self, *args: str, check: bool = False, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run([which(args[0]) or args[0], *args[1:]], env=self.env, capture_output=True, text=True,
                              timeout=timeout, check=check)

    def start(self) -> None:
        (self.root / "munge").mkdir(mode=0o700)
        for sub in ("state", "spool"):
            (self.root / sub).mkdir(mode=0o700)
        key = self.root / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        self._spawn("munged", [which("munged"), "--foreground", "--force", f"--key-file={key}",
                               f"--socket={self.munge_socket}", f"--pid-file={self.root / 'munge' / 'munged.pid'}",
                               f"--log-file={self.root / 'munged.log'}", f"--seed-file={self.root / 'munge' / 'seed'}"])
        self._wait("the munge socket", self.munge_socket.exists, 30)
        host = socket.gethostname().split(".")[0]
        text = string.Template(TEMPLATE.read_text()).substitute(
            host=host, ctld_port=free_port(), slurmd_port=free_port(), munge_socket=self.munge_socket,
            root=self.root, cluster=CLUSTER_NAME, node=NODE, cpus=NODE_CPUS, mem_mb=NODE_MEM_MB, partition=PARTITION)
        self.conf.write_text(text)
        self._link_default_config()
        self._spawn("slurmctld", [which("slurmctld"), "-D", "-i"])
        self._wait("slurmctld (scontrol ping)", lambda: "UP" in self.command("scontrol", "ping").stdout)
        self._spawn("slurmd", [which("slurmd"), "-D", "-N", NODE])
        self._wait("the node to be idle (sinfo)",
                   lambda: self.command("sinfo", "-h", "-n", NODE, "-o", "%T").stdout.strip() == "idle")

    def _link_default_config(self) -> None:
        """Point /etc/slurm/slurm.conf at this cluster's file for as long as it runs.

        The executor plugin's job step removes every ``SLURM_*`` variable, ``SLURM_CONF`` included,
        before it calls ``srun`` inside the job, so that ``srun`` reads the default path only (as on
        a real cluster). A configuration already there belongs to the machine and is never replaced.
        """
        default = DEFAULT_CONF
        if default.is_symlink() and not default.exists():
            default.unlink()  # dangling link left by a killed earlier run of this test
        if default.exists() or default.is_symlink():
            raise ClusterUnavailable(f"{default} exists: this machine has its own SLURM configuration, "
                                     "which the test does not replace")
        default.parent.mkdir(parents=True, exist_ok=True)
        default.symlink_to(self.conf)
        self.linked_default = True

    def stop(self) -> None:
        """Cancel every job of this cluster, then stop the daemons (by pid), slurmd first."""
        if "slurmctld" in self.daemons and self.daemons["slurmctld"].poll() is None:
            with contextlib.suppress(Exception):
                ids = self.command("squeue", "-h", "-o", "%i").stdout.split()
                if ids:
                    self.command("scancel", *ids)
                    deadline = time.monotonic() + 30  # let slurmstepd end the jobs' processes
                    while self.command("squeue", "-h", "-o", "%i").stdout.split() and time.monotonic() < deadline:
                        time.sleep(0.5)
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.daemons.get(name)
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)
        # job steps started by slurmd run in their own sessions: kill what is left of them by pid
        for pid in self._leftover_pids():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        if self.linked_default and DEFAULT_CONF.is_symlink() and DEFAULT_CONF.readlink() == self.conf:
            DEFAULT_CONF.unlink()

    def _leftover_pids(self) -> list[int]:
        """Processes whose environment names this cluster (its SLURM_CONF, or its name, which job
        steps keep): what is left of this test's jobs."""
        pids = []
        needles = {f"SLURM_CONF={self.conf}".encode(), f"SLURM_CLUSTER_NAME={CLUSTER_NAME}".encode()}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            if needles & set(environ.split(b"\0")):
                pids.append(int(entry.name))
        return pids


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory) -> Iterator[LocalSlurm]:
    missing = missing_packages()
    if missing:
        reason = apt_install(missing, missing_packages)
        if reason is not None:
            pytest.skip(f"cannot set up a local SLURM cluster: {reason}")
    root = tmp_path_factory.mktemp("slurm")
    root.chmod(0o700)  # munged refuses a socket directory others can write to
    cluster = LocalSlurm(root)
    try:
        try:
            cluster.start()
        except ClusterUnavailable as exc:
            pytest.skip(f"cannot set up a local SLURM cluster: {exc}")
        except RuntimeError as exc:
            pytest.fail(f"the local SLURM cluster did not start: {exc}")
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def profile_overrides() -> list[str]:
    """The profile's default and per-rule resources, with this cluster's partition and account and no
    GPU for training. (A command-line ``--default-resources``/``--set-resources`` replaces the
    profile's whole entry, so every other value is passed on unchanged.)"""
    profile = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())
    default = {**profile["default-resources"], "slurm_partition": PARTITION, "slurm_account": ACCOUNT}
    per_rule = {rule: dict(res) for rule, res in profile["set-resources"].items()}
    assert per_rule["train_model"].get("gpu") == 1, "the profile's training rule should ask for one GPU"
    per_rule["train_model"]["gpu"] = 0  # the plugin adds no --gpus for 0
    return ["--default-resources", *(f"{k}={v}" for k, v in default.items()),
            "--set-resources", *(f"{rule}:{k}={v}" for rule, res in per_rule.items() for k, v in res.items())]


def run_workflow(workdir: Path, args: list[str], env: dict | None = None, timeout: float = 400) -> str:
    """Run the workflow with no --cores of its own (the profile or ``args`` decide); keep its output."""
    proc = run_snakemake(workdir, *args, check=False, timeout=timeout, cores=None, env=env)
    out = proc.stdout + proc.stderr
    (workdir / "snakemake.out").write_text(out)
    if proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{out[-6000:]}")
    return out


SPECTRA = "results/runs/tiny/seed0/spectra.nc"


def training_threads() -> int:
    """Threads of the training job on this cluster: the profile's ``set-threads``, scaled down by the
    job step (``--cores all``) to the CPUs this machine really has."""
    threads = int(yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())["set-threads"]["train_model"])
    return min(threads, len(os.sched_getaffinity(0)))


@pytest.fixture(scope="module")
def local_reference(tmp_path_factory) -> Iterator[Path]:
    """The training product of a local run: same config, same seed, same threads as the SLURM job."""
    workdir = tmp_path_factory.mktemp("local")
    shutil.copy(REPO / "config" / "tiny.yaml", workdir / "config.yaml")
    threads = training_threads()
    run_workflow(workdir, [SPECTRA, "--cores", str(threads), "--set-threads", f"train_model={threads}"])
    yield workdir / SPECTRA
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def slurm_run(slurm_cluster, tmp_path_factory) -> Iterator[tuple[Path, str, float]]:
    workdir = tmp_path_factory.mktemp("slurmwf")
    shutil.copy(REPO / "config" / "tiny.yaml", workdir / "config.yaml")
    # as in the README, plus: this cluster's partition and account, no GPU, faster status polling,
    # SLURM logs kept as evidence, a short latency wait (one local file system)
    args = ["--profile", str(REPO / "profiles/slurm"), "--workflow-profile", "none", *profile_overrides(),
            "--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "2",
            "--slurm-keep-successful-logs", "--latency-wait", "5"]
    t0 = time.perf_counter()
    try:
        out = run_workflow(workdir, args, env=slurm_cluster.env)
        yield workdir, out, time.perf_counter() - t0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def test_tiny_workflow_through_slurm_matches_a_local_run(slurm_run, local_reference):
    workdir, out, elapsed = slurm_run
    res = workdir / "results"
    # every product of the tiny workflow
    for name in ("esd_evolution", "sv_trajectories", "stationary_fits", "sde_vs_observed", "sde_levels",
                 "training_curves"):
        assert (res / f"figures/{name}_tiny_seed0.png").stat().st_size > 1000, name
    for product in ("runs/tiny/seed0/model.pt", "fits/tiny/seed0.csv", "sde/tiny/seed0/comparison.csv",
                    "sde/tiny/seed0/layers.0/matrix_ou.nc", "sde/tiny/seed0/layers.1/eigen.nc",
                    "figures/sde_stationary_check.png", "tables/fits_tiny.md", "tables/sde_stationary_check.csv"):
        assert (res / product).stat().st_size > 0, product
    assert not list(res.rglob("*.tmp*")) and not list(res.rglob("*.ckpt")), "temporary files left behind"

    # the jobs went through sbatch: a SLURM job id for each in the log, and the log file SLURM
    # wrote for each job (named by its job id) in the plugin's log folder
    submitted = re.findall(r"submitted with SLURM jobid (\d+)", out)
    assert submitted, f"no SLURM job id in the snakemake log:\n{out[-3000:]}"
    slurm_logs = workdir / ".snakemake/slurm_logs"
    logs = {p.stem: p.relative_to(slurm_logs).parts[0] for p in slurm_logs.rglob("*.log")}
    assert sorted(logs, key=int) == sorted(submitted, key=int)
    rules = set(logs.values())
    assert {"rule_train_model", "rule_fit_laws", "rule_simulate_sde", "rule_plot_esd_evolution"} <= rules, rules
    assert not rules & {"rule_all", "rule_compare_sde", "rule_make_table_fits"}, "local rules must stay local"
    assert "Falling back to 'sacct'" not in out  # the squeue status command was used
    train_log = next(slurm_logs.glob("rule_train_model/*/*.log")).read_text()
    assert f"threads: {training_threads()}" in train_log and "gpu=0" in train_log

    # identical spectra: same seed, same threads, CPU
    with xr.open_dataset(res / "runs/tiny/seed0/spectra.nc") as ds:
        ds.load()
    with xr.open_dataset(local_reference) as ref:
        ref.load()
    assert ds.attrs["status"] == "complete" and ds.attrs["device"] == "cpu"
    xr.testing.assert_equal(ds, ref)
    print(f"tiny workflow through SLURM: {elapsed:.0f} s, {len(logs)} SLURM jobs")
