"""Docker-tier fixtures: a real engine, the course images, the real audit collector."""
import shutil

import pytest

from labs.audit import AuditCollector
from labs.host import engine_answers
from labs.images import ensure_images


@pytest.fixture(scope="session")
def lab_images():
    """The lab images, built (or reused by recipe hash) once per session."""
    if shutil.which("docker") is None or not engine_answers():
        pytest.skip("this machine has no Docker engine (run `make engine`)")
    return ensure_images()


@pytest.fixture
def collector(lab_images):
    """A fresh audit collector subscribed to the kernel's audit multicast group."""
    with AuditCollector() as audit:
        yield audit
