"""Check functions shared by several exercises (one definition, many exercises)."""
from __future__ import annotations

from pathlib import Path

from labs.errors import LabError, ManifestError, ProfileError

from ..checks import live
from ..checks.seccomp import load_submitted_profile, require_denies_by_default, unjustified_dangerous
from ..model import NotChecked
from ..policy import require_safe

__all__ = ["EXERCISES_DIR", "reference_file", "profile_valid", "profile_denies", "no_unjustified_danger",
           "single_pod", "nginx_pod_with_profile", "app_answers", "seccomp_filter_on", "attack_with_control"]

EXERCISES_DIR = Path(__file__).resolve().parents[2] / "labs" / "exercises"


def reference_file(exercise_id: str, name: str) -> Path:
    """A file of the exercise's reference solution (absent in the student edition)."""
    path = EXERCISES_DIR / exercise_id / "solution" / name
    if not path.is_file():
        raise NotChecked(f"the reference solution for {exercise_id} is not installed here")
    return path


def profile_valid(ctx, role: str = "profile") -> str:
    profile = load_submitted_profile(ctx, role)
    return f"{ctx.filename(role)} is a valid profile ({len(profile.get('syscalls') or [])} rule groups)"


def profile_denies(ctx, role: str = "profile") -> str:
    return require_denies_by_default(load_submitted_profile(ctx, role))


def no_unjustified_danger(ctx, role: str = "profile") -> str:
    flagged = unjustified_dangerous(load_submitted_profile(ctx, role))
    if flagged:
        raise ProfileError("dangerous syscalls allowed without a reason: " + "; ".join(flagged), "$.syscalls",
                           fix="remove them, or if your app truly needs one, put it in its own rule with a "
                               "\"comment\" saying why")
    return "no dangerous syscall is allowed without a comment"


def single_pod(ctx, role: str = "pod") -> dict:
    docs = ctx.yaml(role)
    require_safe(docs, ctx.filename(role))
    pods = [d for d in docs if d.get("kind") == "Pod"]
    if len(pods) != 1 or len(docs) != 1:
        raise ManifestError(f"{ctx.filename(role)} must hold exactly one Pod (found kinds: "
                            f"{', '.join(str(d.get('kind')) for d in docs)})", fix="keep only the Pod")
    return pods[0]


def nginx_pod_with_profile(ctx, role: str = "profile", *, name: str = "app") -> str:
    """Install the learner's profile, run the grader's nginx pod under it; return the pod name."""
    def start():
        live.require_cluster(ctx)
        localhost = live.install_profile(ctx, f"{role}.json", load_submitted_profile(ctx, role))
        pod = live.template("lab-pod.yaml")
        pod["metadata"]["name"] = name
        pod["spec"]["containers"][0]["securityContext"] = {
            "seccompProfile": {"type": "Localhost", "localhostProfile": localhost}}
        live.run_pod(ctx, pod)
        return name
    return ctx.memo(f"nginx-pod:{role}:{name}", start)


def control_pod(ctx) -> str:
    """The same pod with the app Unconfined: proves a denial came from the learner's profile."""
    def start():
        pod = live.template("lab-pod.yaml")
        pod["metadata"]["name"] = "control"
        pod["spec"]["containers"][0]["securityContext"] = {"seccompProfile": {"type": "Unconfined"}}
        live.run_pod(ctx, pod)
        return "control"
    return ctx.memo("control-pod", start)


def app_answers(ctx, pod: str) -> str:
    result = live.exec_ok(ctx, pod, "probe", ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                                              "--max-time", "5", "http://127.0.0.1/"])
    if result.stdout.strip() != "200":
        raise LabError(f"nginx did not answer (curl: {result.stdout.strip() or result.stderr.strip()[-200:]})",
                       fix="nginx needs accept4, epoll_* and sendfile-style syscalls while serving; "
                           "audit while sending requests, not only at startup")
    return "nginx answered HTTP 200"


def seccomp_filter_on(ctx, pod: str, comm: str = "nginx") -> str:
    mode = live.seccomp_mode_of(ctx, pod, comm)
    if mode != "2":
        raise LabError(f"{comm} runs with Seccomp: {mode} (2 means a filter is active)",
                       fix="set seccompProfile type: Localhost on the container")
    return f"{comm} runs with Seccomp: 2 (filter mode)"


def attack_with_control(ctx, pod: str, container: str, command: list[str]) -> str:
    """The attack must fail under the learner's profile and succeed in the Unconfined control run."""
    control = control_pod(ctx)
    probe = live.exec_ok(ctx, control, "app", command)
    if probe.returncode != 0:
        raise NotChecked(f"`{' '.join(command)}` also fails without seccomp on this cluster, "
                         "so a denial would prove nothing here")
    denied = live.attack_denied(ctx, pod, container, command)
    return f"`{' '.join(command)}` refused ({denied}); it works in the Unconfined control run"
