"""01-block-mkdir: a Docker seccomp profile that refuses mkdir/mkdirat and keeps nginx serving.

Hints come in two steps (TEACHING.md 4): the README names the concepts; each check's ``hint``
(shown only after that check failed) points at the specific thing to look at. Neither names the
rule to write.
"""
from __future__ import annotations

from labs import engine
from labs.docker_lab import LabContainer
from labs.errors import LabError

from ..checks.live import LAB_IMAGE
from ..checks.seccomp import load_submitted_profile, require_blocked_with_eperm
from ..context import Exercise
from ..model import Check, NotChecked
from .common import profile_valid

BLOCKED = ("mkdir", "mkdirat")
PROBE = ["mkdir", "/tmp/grader-probe"]
SLEEP = ["sleep", "600"]


def _container(ctx, seccomp, label: str, command: list[str] | None = None):
    """The lab image under ``seccomp``: nginx itself, or ``command`` instead of nginx."""
    def start():
        if not engine.available():   # a grader holding only a kubeconfig (Gradescope's live mode)
            raise NotChecked("these checks run a container and this grader has no Docker")
        box = LabContainer.start(LAB_IMAGE, seccomp=seccomp, name=f"course-grader-{ctx.token}-{label}",
                                 publish=None if command else {80: 0}, command=command)
        ctx.cleanup.callback(box.stop)
        return box
    return ctx.memo(f"docker:{label}", start)


def _nginx_serves(ctx) -> str:
    box = _container(ctx, load_submitted_profile(ctx), "learner")
    box.http_get(80, timeout=15)
    return "nginx answered under your profile"


def _mkdir_denied(ctx) -> str:
    """Graded apart from nginx (a container that only sleeps), so a profile that stops nginx
    still gets this check judged on what it does to `mkdir DIR`."""
    control = _container(ctx, "unconfined", "control", SLEEP).exec(PROBE)
    if not control.ok:
        raise NotChecked("mkdir fails even without seccomp here, so a denial would prove nothing")
    result = _container(ctx, load_submitted_profile(ctx), "learner-shell", SLEEP).exec(PROBE)
    output = (result.stdout + result.stderr).strip()
    if result.ok:
        raise LabError("mkdir succeeded under your profile",
                       fix="your rule's condition also matches `mkdir DIR` (mode 0777): compare it with the "
                           "mode nginx uses")
    if "Operation not permitted" not in output:
        raise LabError(f"mkdir failed, but not with EPERM: {output[-200:]}",
                       fix="use SCMP_ACT_ERRNO (EPERM), not a kill action")
    return "mkdir fails with 'Operation not permitted'; it works without seccomp"


EXERCISE = Exercise(
    id="01-block-mkdir",
    title="Block mkdir with a Docker seccomp profile",
    files={"profile": "profile.json"},
    checks=(
        Check("valid", "profile.json is a valid seccomp profile", 1, profile_valid,
              hint="start from the starter file; every rule needs names and an action"),
        Check("blocks-mkdir", "mkdir and mkdirat get SCMP_ACT_ERRNO (EPERM)", 2,
              lambda ctx: require_blocked_with_eperm(load_submitted_profile(ctx), BLOCKED), needs=("valid",),
              hint="a directory can be created with mkdir or with mkdirat (Go programs and every aarch64 "
                   "program use mkdirat): a rule that names one leaves the other open"),
        Check("nginx-serves", "nginx still serves under the profile (Docker)", 2, _nginx_serves, live=True,
              needs=("blocks-mkdir",),
              hint="nginx stopped: its log (`docker logs`) names the mkdir it needed. Look at that folder's "
                   "mode in a container without your profile (`stat -c %a`) and let exactly that mode through "
                   "(argument 1 of mkdir; mkdirat, which aarch64 uses instead, has the mode at index 2). JSON numbers "
                   "are decimal: an octal mode must be converted"),
        Check("mkdir-denied", "mkdir inside the container fails with EPERM", 2, _mkdir_denied, live=True,
              needs=("blocks-mkdir",),
              hint="`mkdir DIR` asks for mode 0777; only nginx's own mode may pass"),
    ),
)
