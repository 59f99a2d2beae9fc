"""Snapshot schedules: step 0, log-spaced early steps, evenly spaced later steps, the last step."""

from __future__ import annotations

import numpy as np

__all__ = ["evenly_spaced_indices", "snapshot_steps"]


def snapshot_steps(total_steps: int, log_points: int, log_until: int, every: int) -> np.ndarray:
    """Sorted unique snapshot steps in ``[0, total_steps]``.

    Step 0 (before any update) and ``total_steps`` are always included; ``log_points`` steps are
    log-spaced in ``[1, min(log_until, total_steps)]`` (rounded, duplicates merged); after
    ``log_until``, every multiple of ``every`` is included.
    """
    if total_steps < 1:
        raise ValueError(f"total_steps must be >= 1, got {total_steps}")
    if every < 1 or log_until < 1 or log_points < 0:
        raise ValueError("every and log_until must be >= 1 and log_points >= 0")
    steps = {0, total_steps}
    top = min(log_until, total_steps)
    if log_points > 0:
        steps.update(np.unique(np.round(np.geomspace(1, top, log_points))).astype(int).tolist())
    steps.update(range(every * (top // every + 1), total_steps + 1, every))
    return np.array(sorted(steps), dtype=np.int64)


def evenly_spaced_indices(n: int, k: int) -> list[int]:
    """Up to ``k`` evenly spaced positions in ``range(n)``, first and last included, no repeats."""
    if n < 1:
        raise ValueError("need at least one position")
    return sorted({int(i) for i in np.linspace(0, n - 1, max(1, k)).round().astype(int)})
