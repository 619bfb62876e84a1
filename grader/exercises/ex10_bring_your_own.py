"""10-bring-your-own: a recorded profile for the notes service (not nginx), proven live.

The grader's pod runs the notes service (``course/pyweb``) as "app" under the learner's profile
and a "probe" container under RuntimeDefault that drives it over the pod's loopback with curl,
so the learner's profile is never asked to allow the grader's tools.
"""
from __future__ import annotations

from labs.errors import LabError
from labs.nodeops.images import image_ref

from ..checks import live
from ..checks.seccomp import load_submitted_profile
from ..context import Exercise
from ..model import Check
from .common import attack_with_control, profile_denies, profile_valid, seccomp_filter_on
from .ex04_least_privilege_nginx import size_vs_recorded

ID = "10-bring-your-own"
IMAGE = "course/pyweb:latest"
URL = "http://127.0.0.1:8000"
UNSHARE = ["unshare", "--user", "true"]
#: (what, curl arguments after the URL's path, the text the answer must hold)
REQUESTS = (
    ("GET /", ["/"], "hello from the course notes service"),
    ("POST /notes", ["/notes", "--data", "graded"], '"notes": 1'),
    ("GET /notes", ["/notes"], '"graded"'),
)


def notes_pod(ctx) -> str:
    """Install the learner's profile and run the grader's pod with the notes service as "app"."""
    def start():
        live.require_cluster(ctx, images=(live.LAB_IMAGE, IMAGE))   # the probe container runs the lab image
        localhost = live.install_profile(ctx, "course-notes.json", load_submitted_profile(ctx, "profile"))
        pod = live.template("lab-pod.yaml")
        pod["metadata"]["name"] = "notes"
        app = pod["spec"]["containers"][0]
        app["image"] = image_ref(IMAGE)
        app["securityContext"] = {"seccompProfile": {"type": "Localhost", "localhostProfile": localhost}}
        live.run_pod(ctx, pod)
        return "notes"
    return ctx.memo("notes-pod", start)


def serves_notes(ctx) -> str:
    pod = notes_pod(ctx)
    for what, (path, *extra), expected in REQUESTS:
        result = live.exec_ok(ctx, pod, "probe", ["curl", "-sS", "--max-time", "5", *extra, URL + path])
        if expected not in result.stdout:
            said = (result.stdout + result.stderr).strip()[-200:] or f"exit code {result.returncode}"
            raise LabError(f"{what} did not work under your profile: {said}",
                           fix="the service makes syscalls for each kind of request: record while the client "
                               "drives every step, and stage before you enforce")
    return "the notes service answered GET /, stored a note and listed it"


EXERCISE = Exercise(
    id=ID,
    title="A recorded profile for the notes service",
    files={"profile": "profile.json"},
    checks=(
        Check("valid", "profile.json is a valid seccomp profile", 1, profile_valid),
        Check("denies-by-default", "defaultAction refuses unlisted syscalls", 1, profile_denies, needs=("valid",),
              hint="The enforcing profile starts from SCMP_ACT_ERRNO; the LOG default is only for staging"),
        Check("size", "no larger than the recorded set needs (tolerance 30% + 8)", 1,
              lambda ctx: size_vs_recorded(ctx, ID, workload="notes service"), needs=("denies-by-default",),
              hint="Build it with labs.seccomp.build_profile from your merged recordings, not from a long list"),
        Check("serves", "the service starts, answers, stores and lists notes under the profile", 3, serves_notes,
              live=True, needs=("denies-by-default",),
              hint="Record with the client driving every step of the pyweb workload (POST /notes writes a file), "
                   "merge two runs, and add what the staging report lists"),
        Check("seccomp-mode", "the service runs with Seccomp: 2", 1,
              lambda ctx: seccomp_filter_on(ctx, notes_pod(ctx), "python3"), live=True, needs=("serves",)),
        Check("unshare-denied", "unshare --user fails with EPERM (works Unconfined)", 1,
              lambda ctx: attack_with_control(ctx, notes_pod(ctx), "app", UNSHARE), live=True, needs=("serves",),
              hint="unshare is not something the service does: it must not be in the allow list"),
    ),
)
