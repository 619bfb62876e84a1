"""03-audit: the syscall list recorded from the nginx pod under a Localhost SCMP_ACT_LOG profile.

Graded against a reference audit the grader records itself (same image, same requests): the
list must cover most of it (tolerance for timing) and must not be padded with everything.
"""
from __future__ import annotations

from labs.errors import LabError, ProfileError

from ..checks import live
from ..checks.seccomp import node_arch
from ..context import Exercise
from ..model import Check

COVERAGE = 0.9          # share of the reference the list must contain
PADDING_RATIO = 1.5     # at most this many times the reference size ...
PADDING_SLACK = 10      # ... plus this many
MAX_SHARE_OF_ALL = 0.4  # a list with 40% of all syscalls is padding whatever the reference says


def submitted_syscalls(ctx) -> set[str]:
    def parse():
        from labs.syscalls import is_known

        names = [ln.split("#", 1)[0].strip() for ln in ctx.text("syscalls").splitlines()]
        names = [n for n in names if n]
        if not names:
            raise ProfileError("syscalls.txt lists no syscalls", fix="paste the names your audit printed, one per line")
        unknown = sorted({n for n in names if not is_known(n, node_arch())})
        if unknown:
            raise ProfileError(f"not {node_arch()} syscall names: {', '.join(unknown[:10])}",
                               fix="one syscall name per line, as the audit printed them")
        return set(names)
    return ctx.memo("syscalls", parse)


def _not_padded(ctx) -> str:
    from labs.syscalls import all_syscalls

    names, total = submitted_syscalls(ctx), len(all_syscalls(node_arch()))
    if len(names) > MAX_SHARE_OF_ALL * total:
        raise ProfileError(f"{len(names)} of {total} syscalls: that is padding, not a recording",
                           fix="submit only what the audit recorded")
    return f"{len(names)} syscalls listed"


def reference_audit(ctx) -> set[str]:
    """Record the nginx pod ourselves under SCMP_ACT_LOG while curl sends requests."""
    def record():
        from labs.pods import audit_pod

        live.require_cluster(ctx)
        pod = live.template("lab-pod.yaml")  # audit_pod puts every container under SCMP_ACT_LOG
        pod["metadata"]["name"] = "reference"

        def drive(name, ns):
            for _ in range(5):
                live.exec_ok(ctx, name, "probe", ["curl", "-s", "-o", "/dev/null", "http://127.0.0.1/"])

        audit = audit_pod(pod, live.grading_namespace(ctx), drive=drive, config=ctx.config)
        recorded = set(audit.syscalls.get("app", {}))
        if not recorded:
            # the grader's own setup failed, not the learner: reported as "grader error"
            raise RuntimeError("the reference audit recorded nothing: " + "; ".join(audit.warnings))
        return recorded
    return ctx.memo("reference-audit", record)


def _covers_reference(ctx) -> str:
    names, reference = submitted_syscalls(ctx), reference_audit(ctx)
    missing = sorted(reference - names)
    if len(reference & names) < COVERAGE * len(reference):
        raise LabError(f"your list misses {len(missing)} of the {len(reference)} syscalls a reference audit "
                       f"recorded: {', '.join(missing[:12])}",
                       fix="record while sending requests to nginx (curl), and collect for a few seconds")
    limit = int(PADDING_RATIO * len(reference)) + PADDING_SLACK
    if len(names) > limit:
        raise LabError(f"{len(names)} syscalls listed; the reference audit saw {len(reference)} (limit {limit})",
                       fix="list what your audit recorded, nothing more")
    return f"covers {len(reference & names)}/{len(reference)} of the reference audit"


EXERCISE = Exercise(
    id="03-audit",
    title="Audit nginx's syscalls",
    files={"syscalls": "syscalls.txt"},
    checks=(
        Check("list-readable", "syscalls.txt lists known syscall names", 1,
              lambda ctx: f"{len(submitted_syscalls(ctx))} known syscall names"),
        Check("not-padded", "the list is a recording, not everything", 1, _not_padded, needs=("list-readable",)),
        Check("covers-reference", "the list matches a reference audit (tolerance 90%)", 3, _covers_reference,
              live=True, needs=("not-padded",),
              hint="the dependency trap: requests make nginx call syscalls that startup alone does not"),
    ),
)
