"""03-audit: the syscall list recorded from the nginx pod under a Localhost SCMP_ACT_LOG profile.

Graded against a reference audit the grader records itself (same image, GET requests while it
records): the list must cover most of it (tolerance for timing) and must not be padded with
everything. The idea graded is *coverage*: an audit sees only the code paths that run while it
records, so a list recorded while nginx only started misses what serving requests needs.
"""
from __future__ import annotations

import time

from labs.errors import LabError, ProfileError
from labs.syscalls import all_syscalls, is_known

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
    names, total = submitted_syscalls(ctx), len(all_syscalls(node_arch()))
    if len(names) > MAX_SHARE_OF_ALL * total:
        raise ProfileError(f"{len(names)} of the {total} {node_arch()} syscalls: that is padding, not a recording",
                           fix="submit only what the audit recorded.")
    return f"{len(names)} syscalls listed"


QUIET_GAP = 1.5        # seconds without a new syscall between start-up, serving and shutdown
IDLE_BEFORE_DRIVE = 2.5  # the reference waits this long after start-up before its first request


def phases(timeline: list[tuple[float, str, str]], container: str, gap: float = QUIET_GAP) -> list[set[str]]:
    """Split a container's first-seen timeline into bursts separated by ``gap`` quiet seconds:
    for the reference run, start-up, serving requests, and shutdown."""
    bursts: list[set[str]] = []
    last = None
    for seconds, name, syscall in sorted(timeline):
        if name != container:
            continue
        if last is None or seconds - last >= gap:
            bursts.append(set())
        bursts[-1].add(syscall)
        last = seconds
    return bursts


def reference_audit(ctx) -> tuple[set[str], set[str]]:
    """Record the nginx pod ourselves under SCMP_ACT_LOG while curl sends requests.

    Returns every syscall recorded, and those nginx made for the first time while it served
    the requests (the reference idles after start-up, so serving is a burst of its own).
    """
    def record():
        from labs.pod_audit import audit_pod  # slow import: the kubernetes client

        live.require_cluster(ctx)
        pod = live.template("lab-pod.yaml")  # audit_pod puts every container under SCMP_ACT_LOG
        pod["metadata"]["name"] = "reference"

        def drive(name, ns):
            time.sleep(IDLE_BEFORE_DRIVE)
            for _ in range(5):
                live.exec_ok(ctx, name, "probe", ["curl", "-s", "-o", "/dev/null", "http://127.0.0.1/"])

        audit = audit_pod(pod, live.grading_namespace(ctx), drive=drive, config=ctx.cluster)
        recorded = set(audit.syscalls.get("app", {}))
        if not recorded:
            # the grader's own setup failed, not the learner: reported as "grader error"
            raise RuntimeError("the reference audit recorded nothing: " + "; ".join(audit.warnings))
        bursts = phases(audit.timeline, "app")
        # start-up first, shutdown last; on a slow machine a phase may split, so take every
        # burst in between (a start-up or shutdown straggler there is in any learner's audit)
        serving = set().union(*bursts[1:-1]) if len(bursts) >= 3 else set()
        return recorded, serving
    return ctx.memo("reference-audit", record)


def _covers_reference(ctx) -> str:
    names, (reference, serving) = submitted_syscalls(ctx), reference_audit(ctx)
    missing = sorted(reference - names)
    if len(reference & names) < COVERAGE * len(reference):
        # a few examples, not the whole list: the fix is to audit again, not to paste names
        raise LabError(f"your list misses {len(missing)} of the {len(reference)} syscalls a reference audit "
                       f"recorded while nginx served requests (for example {', '.join(missing[:3])})",
                       fix="audit again while the app is driven, and save that audit.")
    unserved = sorted(serving - names)
    if unserved:
        raise LabError(f"your list misses {len(unserved)} of the {len(serving)} syscalls nginx made only while it "
                       f"answered requests (for example {unserved[0]}): it was recorded while nginx started and "
                       "stopped, not while it served",
                       fix="audit again while the app is driven, and save that audit.")
    limit = int(PADDING_RATIO * len(reference)) + PADDING_SLACK
    if len(names) > limit:
        raise LabError(f"{len(names)} syscalls listed; the reference audit saw {len(reference)} (limit {limit})",
                       fix="list what your audit recorded, nothing more.")
    return (f"covers {len(reference & names)}/{len(reference)} of the reference audit, including all "
            f"{len(serving)} syscalls nginx makes only while serving")


EXERCISE = Exercise(
    id="03-audit",
    title="Audit nginx's syscalls",
    files={"syscalls": "syscalls.txt"},
    checks=(
        Check("list-readable", "syscalls.txt lists known syscall names", 1,
              lambda ctx: f"{len(submitted_syscalls(ctx))} known syscall names"),
        Check("not-padded", "the list is a recording, not everything", 1, _not_padded, needs=("list-readable",),
              hint="A profile built from every syscall protects nothing: save what the audit saw nginx do "
                   "(audit.syscalls[\"nginx\"] in the lesson), not a list of all names"),
        Check("covers-reference", "the list matches a reference audit (tolerance 90%)", 3, _covers_reference,
              live=True, needs=("not-padded",),
              hint="Coverage: an audit sees only the code paths you drive. Run it with the lesson's "
                   "NginxDriver as drive= (GET, 404 and POST requests from the client pod), check that the "
                   "coverage curve flattened, then save that audit's nginx syscalls"),
    ),
)
