"""02-restricted-pod: a pod whose security context passes Pod Security "restricted" and runs.

The static part is split by the Pod Security controls the lesson's table groups together
(seccomp; who the container runs as; privileges), so a pod that misses one control keeps the
points of the others. The live check runs the grader's own sleeper pod with the learner's
security fields in a namespace that enforces "restricted", which is what the API server and
the kubelet decide, not our static reading.

Hints come in two steps (TEACHING.md 4): the README names the concept; a check's ``hint``
(shown only after it failed) points at the lesson's table row or the kubelet's message.
"""
from __future__ import annotations

from labs.errors import ManifestError
from labs.manifests import check_pod_security
from labs.names import POD_SECURITY_ENFORCE_LABEL, POD_SECURITY_VERSION_LABEL

from ..checks import live
from ..context import Exercise
from ..model import Check
from ..policy import apply_graded_fields, graded_pod_fields
from .common import single_pod

ENFORCE = {POD_SECURITY_ENFORCE_LABEL: "restricted", POD_SECURITY_VERSION_LABEL: "latest"}

#: Pod Security check ids (labs.manifests.check_pod_security) per graded control
SECCOMP_CHECKS = frozenset({"seccompProfile"})
USER_CHECKS = frozenset({"runAsNonRoot", "runAsUser"})


def _violations(ctx) -> list:
    return ctx.memo("restricted-report", lambda: check_pod_security(single_pod(ctx), "restricted").violations)


def _require_none(ctx, wanted, what: str) -> str:
    found = [v for v in _violations(ctx) if wanted(v.check)]
    if found:   # what is wrong and where; the value to write is the learner's to find (no ``v.fix``)
        raise ManifestError("; ".join(f"{v.path}: {v.message}" for v in found))
    return what


def _seccomp(ctx) -> str:
    return _require_none(ctx, lambda c: c in SECCOMP_CHECKS,
                         "every container gets a seccomp profile restricted allows (RuntimeDefault or Localhost)")


def _user(ctx) -> str:
    return _require_none(ctx, lambda c: c in USER_CHECKS, "no container may run as root (runAsNonRoot)")


def _privileges(ctx) -> str:
    return _require_none(ctx, lambda c: c not in SECCOMP_CHECKS | USER_CHECKS,
                         "no privilege escalation, all capabilities dropped, nothing else restricted refuses")


def _graded_pod(ctx) -> dict:
    submitted = single_pod(ctx)
    first = (submitted["spec"].get("containers") or [{}])[0].get("name", "main")
    return apply_graded_fields(live.template("sleeper-pod.yaml"), graded_pod_fields(submitted),
                               container_map={"main": first})


def _admitted_and_runs(ctx) -> str:
    live.require_cluster(ctx)
    live.grading_namespace(ctx, labels=ENFORCE)
    live.run_pod(ctx, _graded_pod(ctx), timeout=60)  # a PodSecurityRejected outcome fails with its violations
    return "admitted to a namespace with enforce=restricted and Running"


STATIC = ("restricted-seccomp", "restricted-user", "restricted-privileges")

EXERCISE = Exercise(
    id="02-restricted-pod",
    title="A pod that passes Pod Security 'restricted'",
    files={"pod": "pod.yaml"},
    checks=(
        Check("restricted-seccomp", "restricted: a seccomp profile (RuntimeDefault or Localhost)", 2, _seccomp,
              hint="restricted, unlike baseline, refuses a pod with no seccomp profile at all: see the 'seccomp' row "
                   "of the lesson's baseline/restricted table (pod level covers every container)"),
        Check("restricted-user", "restricted: containers must not run as root", 1, _user,
              hint="see the 'running as non-root' row of the lesson's table"),
        Check("restricted-privileges", "restricted: no privilege escalation, capabilities dropped", 1, _privileges,
              hint="see the 'privilege escalation' and 'capabilities' rows of the lesson's table; the "
                   "dry run in the lesson prints the API server's own list"),
        Check("admitted-runs", "admitted by a restricted namespace and Running", 3, _admitted_and_runs, live=True,
              needs=STATIC,
              hint="admission passed but the container did not start: `kubectl describe pod` shows the kubelet's "
                   "reason. runAsNonRoot only forbids root; when the image's user is root, the kubelet also "
                   "needs a numeric non-root runAsUser to run it"),
    ),
)
