"""Runs INSIDE the AppArmor VM (worker node): the course's netlink audit collector, on the guest's
kernel, until the host asks for the records.

The host's lesson 07 test starts it through a guest request, waits for ``collect.ready``, runs
and drives nginx under the complain-mode profile on the guest's node, then creates
``collect.stop``; this writes every AppArmor record the collector read to ``records.json``.
"""
from __future__ import annotations

import json
import os
import site
import sys
import time
from pathlib import Path

SHARE = Path("/mnt/course")
SRC = Path(os.environ.get("COURSE_ROOT", "/mnt/src"))
PYTHON = f"python{sys.version_info.major}.{sys.version_info.minor}"
site.addsitedir(str(SRC / ".venv" / "lib" / PYTHON / "site-packages"))
sys.path.insert(0, str(SRC))

from labs.audit import AuditCollector  # noqa: E402
from labs.audit.parse import AppArmorRecord  # noqa: E402
from labs.errors import LabTimeout  # noqa: E402

with AuditCollector() as collector:
    (SHARE / "collect.ready").write_text("")
    while not (SHARE / "collect.stop").exists():
        time.sleep(0.5)
    try:      # an emulated machine is slow: records still arriving after 180 s are a finding, not a crash
        collector.wait_quiet(1.0, 180)
    except LabTimeout as exc:
        print(f"reading the records so far: {exc.message}", flush=True)
    records = [r.to_dict() for r in collector.records() if isinstance(r, AppArmorRecord)]
(SHARE / "records.tmp").write_text(json.dumps(records))
(SHARE / "records.tmp").rename(SHARE / "records.json")
print(f"{len(records)} AppArmor records", flush=True)
