"""02-restricted-pod: a pod whose security context passes Pod Security "restricted" and runs."""
from __future__ import annotations

from labs.errors import ManifestError

from ..checks import live
from ..context import Exercise
from ..model import Check
from ..policy import apply_graded_fields, graded_pod_fields
from .common import single_pod

ENFORCE = {"pod-security.kubernetes.io/enforce": "restricted",
           "pod-security.kubernetes.io/enforce-version": "latest"}


def _restricted_static(ctx) -> str:
    from labs.manifests import check_pod_security

    report = check_pod_security(single_pod(ctx), "restricted")
    if not report.allowed:
        raise ManifestError("; ".join(f"{v.path}: {v.message}" for v in report.violations),
                            fix="; ".join(dict.fromkeys(v.fix for v in report.violations)))
    return "meets Pod Security 'restricted' (static check)"


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


EXERCISE = Exercise(
    id="02-restricted-pod",
    title="A pod that passes Pod Security 'restricted'",
    files={"pod": "pod.yaml"},
    checks=(
        Check("restricted-static", "one Pod that meets Pod Security 'restricted'", 4, _restricted_static,
              hint="restricted wants runAsNonRoot, allowPrivilegeEscalation: false, capabilities drop ALL "
                   "and a seccompProfile (RuntimeDefault or Localhost)"),
        Check("admitted-runs", "admitted by a restricted namespace and Running", 3, _admitted_and_runs, live=True,
              needs=("restricted-static",), hint="runAsNonRoot needs a numeric runAsUser when the image runs as root"),
    ),
)
