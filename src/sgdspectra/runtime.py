"""Run-time environment of a job: threads, devices, and logging to a rule's log file."""

from __future__ import annotations

import logging
import os
import sys
import warnings
from pathlib import Path

__all__ = ["configure_threads", "resolve_device", "setup_logging", "NoGPUError"]

log = logging.getLogger(__name__)


class NoGPUError(RuntimeError):
    """A job asked for CUDA and none is available: fail fast rather than train on the CPU."""


def configure_threads(n_threads: int) -> None:
    """Use ``n_threads`` for torch intra-op work and for BLAS/OpenMP pools."""
    n = max(1, int(n_threads))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        pass
    import torch

    torch.set_num_threads(n)
    log.info("using %d thread(s)", n)


def resolve_device(requested: str) -> str:
    """Map ``cpu``/``cuda``/``auto`` to a concrete device; ``cuda`` without a GPU raises."""
    import torch

    if requested == "cpu":
        return "cpu"
    has_cuda = torch.cuda.is_available()
    if requested == "auto":
        return "cuda" if has_cuda else "cpu"
    if requested == "cuda":
        if not has_cuda:
            raise NoGPUError(
                "device 'cuda' was requested but no CUDA GPU is available to this job; "
                "refusing to train on the CPU (set device: auto or cpu to allow it)"
            )
        return "cuda"
    raise ValueError(f"unknown device {requested!r} (use cpu, cuda or auto)")


def setup_logging(log_file: str | Path | None = None, level: int = logging.INFO) -> None:
    """Send logging (and warnings, and uncaught exceptions) to ``log_file`` and to stderr.

    Called by the workflow's scripts only; library modules never configure logging.
    """
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="w"))
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logging.getLogger("fontTools").setLevel(logging.WARNING)  # PDF font subsetting is chatty at INFO
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    logging.captureWarnings(True)
    warnings.simplefilter("default")

    def _excepthook(exc_type, exc, tb):  # noqa: ANN001
        logging.getLogger("sgdspectra").critical("%s: %s", exc_type.__name__, exc, exc_info=(exc_type, exc, tb))

    sys.excepthook = _excepthook
