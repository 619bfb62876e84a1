"""Reading how far a workload rolled out, from objects as the API returns them."""
from __future__ import annotations

import pytest

from labs.rollout import rollout_progress


@pytest.mark.parametrize("kind, obj, expected", [
    ("DaemonSet", {"status": {"numberReady": 2, "desiredNumberScheduled": 3}}, (2, 3)),
    ("DaemonSet", {"status": {}}, (0, 0)),                                  # just created: no counts yet
    ("Deployment", {"spec": {"replicas": 2}, "status": {"readyReplicas": 2}}, (2, 2)),
    ("Deployment", {"spec": {}, "status": {}}, (0, 1)),                     # replicas defaults to 1
    ("StatefulSet", {"spec": {"replicas": 0}}, (0, 0)),
])
def test_rollout_progress(kind, obj, expected):
    assert rollout_progress(kind, obj) == expected
