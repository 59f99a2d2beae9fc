import numpy as np
import pytest

from sgdspectra.schedule import snapshot_steps


def test_schedule_shape():
    s = snapshot_steps(3000, 12, 200, 250)
    assert s[0] == 0 and s[-1] == 3000
    assert np.all(np.diff(s) > 0)
    early = s[(s > 0) & (s <= 200)]
    assert early[0] == 1 and early[-1] == 200 and len(early) <= 12
    late = s[s > 200]
    assert set(late) == set(range(250, 3001, 250))


def test_schedule_short_runs_and_no_log_points():
    assert snapshot_steps(1, 5, 200, 100).tolist() == [0, 1]
    assert snapshot_steps(10, 0, 1, 5).tolist() == [0, 5, 10]


def test_schedule_rejects_bad_values():
    with pytest.raises(ValueError):
        snapshot_steps(0, 3, 10, 10)
    with pytest.raises(ValueError):
        snapshot_steps(10, 3, 10, 0)
