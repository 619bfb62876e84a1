"""09-capstone: a two-container app locked down with seccomp (per container) and AppArmor.

The workload is the lesson's own ``labs/lessons/09-capstone/app.yaml``: the pod the learner
audits in lesson 09 is the pod the grader runs (same images, same commands; a submitted
app.yaml that changes them is refused), with the securityContext settings of the learner's
app.yaml and their profiles under per-run names. The grader adds only what it needs to look
inside: ``shareProcessNamespace`` and a ``probe`` container of its own (RuntimeDefault), and it
finds each container's main process by what that container runs
(nginx by name, the fetcher by its command line), never by renaming a program.
"""
from __future__ import annotations

import copy
import time

from labs.errors import LabError, ManifestError, WorkloadFailed
from labs.lessons import asset
from labs.manifests import apparmor_style, load_manifests, seccomp_settings
from labs.names import localhost_profile
from labs.namespaces import slow_cluster_factor
from labs.nodeops import image_ref, pull_policy

from ..checks import live
from ..checks.apparmor import require_named, syntax_name
from ..checks.seccomp import load_submitted_profile, require_denies_by_default
from ..context import Exercise
from ..model import Check, NotChecked
from .apparmor_live import loaded_name, require_enforced, stoppable
from .common import app_answers, attack_with_control, seccomp_filter_on, single_pod

CONTAINERS = {"web": "web", "fetcher": "fetcher"}  # container name -> profile role


def app_pod() -> dict:
    """The lesson's app (``labs/lessons/09-capstone/app.yaml``), parsed: the one source of the
    workload for lesson 09's audit and for grading."""
    (pod,) = [d for d in load_manifests(asset("09", "app.yaml")) if d["kind"] == "Pod"]
    return pod


def grading_pod(name: str = "capstone") -> dict:
    """The app as the grader runs it: app.yaml plus the grader's probe container, which shares
    the pod's process namespace so it can read each container's ``Seccomp:`` line. Images and
    pull policies follow ``--image-prefix`` like the grader's templates (kind-loaded: unchanged)."""
    pod = copy.deepcopy(app_pod())
    pod["metadata"]["name"] = name
    pod["spec"]["shareProcessNamespace"] = True
    pod["spec"]["containers"].append({
        "name": "probe", "image": live.LAB_IMAGE, "command": ["sleep", "infinity"],
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}})
    for container in pod["spec"]["containers"]:
        container["image"], container["imagePullPolicy"] = image_ref(container["image"]), pull_policy()
    return pod


def _main_process_seccomp(ctx, pod: str, container: str) -> str:
    """``Seccomp:`` of a container's main process, read from the probe. nginx is found by its
    name; the fetcher (a shell loop, ``sh`` like the probe's own shell) by its command line."""
    if container == "web":
        return seccomp_filter_on(ctx, pod, "nginx")
    (spec,) = [c for c in app_pod()["spec"]["containers"] if c["name"] == container]
    marker = " ".join(spec.get("command", []) + spec.get("args", []))[-40:]
    script = ('for d in /proc/[0-9]*; do [ "${d#/proc/}" = "$$" ] && continue; '
              '[ "$(cat $d/comm 2>/dev/null)" = sh ] || continue; '
              'tr "\\0" " " < $d/cmdline 2>/dev/null | grep -qF -- "$1" && grep "^Seccomp:" $d/status && exit 0; '
              'done; exit 1')
    result = live.exec_ok(ctx, pod, "probe", ["sh", "-c", script, "probe", marker])
    if result.returncode != 0:
        raise WorkloadFailed(f"the {container} container's shell loop is not running",
                             fix=f"its profile must allow what the loop runs (sh, curl, sleep); run app.yaml under "
                                 f"your profiles and read `kubectl logs capstone -c {container}`")
    mode = result.stdout.split(":", 1)[1].strip()
    if mode != "2":
        raise LabError(f"{container} runs with Seccomp: {mode} (2 means a filter is active)",
                       fix="set seccompProfile type: Localhost on the container")
    return f"{container} runs with Seccomp: 2 (filter mode)"


def _seccomp_per_container(ctx) -> str:
    settings = {s.container: s for s in seccomp_settings(single_pod(ctx))}
    for container, role in CONTAINERS.items():
        s = settings.get(container)
        if s is None:
            raise ManifestError(f"the pod has no container named {container!r}",
                                fix="name the containers web and fetcher")
        if s.type != "Localhost" or not str(s.localhost_profile or "").endswith(ctx.filename(role)):
            raise ManifestError(f"container {container!r} uses seccomp {s.type} {s.localhost_profile or ''}".rstrip(),
                                fix="give it type: Localhost, "
                                    f"localhostProfile: {localhost_profile(ctx.filename(role))}")
    return "each container has its own Localhost seccomp profile"


def _profiles_deny(ctx) -> str:
    for role in CONTAINERS.values():
        require_denies_by_default(load_submitted_profile(ctx, role))
    return "both profiles are valid and deny by default"


def _apparmor_field(ctx) -> str:
    pod = single_pod(ctx)
    if apparmor_style(pod) == "none":
        raise ManifestError("the pod does not ask for an AppArmor profile",
                            fix="add securityContext.appArmorProfile: {type: Localhost, localhostProfile: NAME}")
    if apparmor_style(pod) != "field":
        raise ManifestError("use the securityContext.appArmorProfile field (not the annotation)",
                            fix="the annotation is deprecated since Kubernetes 1.30")
    return require_named(pod, syntax_name(ctx))


_PROFILE_KEYS = ("seccompProfile", "appArmorProfile")


def _submitted_security(ctx) -> tuple[dict, dict[str, dict]]:
    """The submitted pod's securityContext (pod level, per container) without the profile
    fields, which the grader points at its own per-run copies. The containers must run what
    the lesson's app runs (image, command, args): the graded workload is the audited one."""
    submitted = single_pod(ctx)
    mine = {c.get("name"): c for c in submitted["spec"].get("containers") or []}
    per_container = {}
    for app_container in app_pod()["spec"]["containers"]:
        name = app_container["name"]
        own = mine.get(name) or {}
        for key in ("image", "command", "args"):
            if own.get(key) != app_container.get(key):
                raise ManifestError(f"container {name!r} in app.yaml changes the app's {key} "
                                    f"({own.get(key)!r} instead of {app_container.get(key)!r})",
                                    fix="keep the lesson's image and command; add only securityContext")
        per_container[name] = {k: v for k, v in (own.get("securityContext") or {}).items() if k not in _PROFILE_KEYS}
    pod_level = {k: v for k, v in (submitted["spec"].get("securityContext") or {}).items() if k not in _PROFILE_KEYS}
    return pod_level, per_container


def _pod(ctx, with_apparmor: bool = False) -> str:
    """Run the learner's app.yaml as written (its securityContext settings included), with each
    container's Localhost profile pointed at this run's copy of the learner's file."""
    def start():
        pod_level, per_container = _submitted_security(ctx)   # the learner's mistakes first, cluster or not
        live.require_cluster(ctx)
        name = "capstone-aa" if with_apparmor else "capstone"
        pod = grading_pod(name)
        if pod_level:
            pod["spec"]["securityContext"] = copy.deepcopy(pod_level)
        aa = loaded_name(ctx) if with_apparmor else None
        for c in pod["spec"]["containers"]:
            role = CONTAINERS.get(c["name"])
            if role is None:
                continue
            sc = copy.deepcopy(per_container.get(c["name"]) or {})
            sc["seccompProfile"] = {"type": "Localhost", "localhostProfile": live.install_profile(
                ctx, f"{role}.json", load_submitted_profile(ctx, role))}
            if aa:
                sc["appArmorProfile"] = {"type": "Localhost", "localhostProfile": aa}
            c["securityContext"] = sc
        live.run_pod(ctx, pod)
        return name
    return ctx.memo(f"capstone:{with_apparmor}", start)


#: how long the fetcher (a curl every 2 s) may take to log its first success once web answers:
#: on an emulated node its first curls can run before nginx listens (stop 21), times the slow factor
FETCHER_WAIT = 30


def _runs(ctx) -> str:
    pod = _pod(ctx)
    message = app_answers(ctx, pod)
    from labs.pods import pod_logs  # slow import: the kubernetes client

    def fetcher_log() -> str:
        try:
            return pod_logs(pod, live.grading_namespace(ctx), container="fetcher", config=ctx.cluster)
        except WorkloadFailed as exc:   # a restarted fetcher's log already removed: not an answer yet
            if exc.reason != "LogsUnavailable":
                raise
            return ""

    deadline = time.monotonic() + FETCHER_WAIT * slow_cluster_factor()
    while "ok" not in (log := fetcher_log()):
        if time.monotonic() > deadline:
            # the grading pod is deleted once grading ends: its log goes into the message
            last = "\n".join(log.strip().splitlines()[-5:]) or "(nothing)"
            raise LabError(f"the fetcher never reached the web container; its last log lines:\n{last}",
                           fix="the fetcher's profile must allow what its loop runs: sh, curl and sleep")
        time.sleep(2)
    return message + "; the fetcher reaches it"


#: where the AppArmor check tries to write in web: nginx never writes under /etc
FORBIDDEN_WRITE = "/etc/grader-capstone-write"


def _apparmor_serves_and_denies(ctx) -> str:
    """Under the learner's AppArmor profile web still serves, and a write where nginx never
    writes is refused with EACCES, AppArmor's refusal (a seccomp refusal is EPERM by default)."""
    pod = _pod(ctx, with_apparmor=True)
    try:
        served = app_answers(ctx, pod)
    except LabError as exc:   # it served without AppArmor (`runs`): the AppArmor profile is why
        raise LabError(f"under your AppArmor profile, {exc.message}",
                       fix="nginx needs what lesson 06's course-nginx-deny-write allows it: its files, "
                           "network inet stream, and the capabilities it uses") from None
    result = live.exec_ok(ctx, pod, "web", ["sh", "-c", f"echo x > {FORBIDDEN_WRITE}"])
    output = (result.stdout + result.stderr).strip()
    if result.returncode == 0:
        raise LabError(f"writing {FORBIDDEN_WRITE} in web worked under your AppArmor profile",
                       fix="deny writes where nginx never writes, for example `deny /etc/** w,` (lesson 06)")
    if "Permission denied" not in output:
        raise NotChecked(f"the write in web failed before AppArmor could judge it: {output[-160:]}")
    return f"{served} under your AppArmor profile; writing {FORBIDDEN_WRITE} in web is refused (EACCES)"


EXERCISE = Exercise(
    id="09-capstone",
    title="Capstone: lock down a two-container app",
    files={"pod": "app.yaml", "web": "web.json", "fetcher": "fetcher.json", "apparmor": "capstone.apparmor"},
    checks=(
        Check("seccomp-per-container", "one Pod; each container has its own Localhost seccomp profile", 3,
              _seccomp_per_container,
              hint="set seccompProfile in each container's own securityContext: a pod-level one gives "
                   "both containers the same profile"),
        Check("profiles-deny", "web.json and fetcher.json are valid and deny by default", 2, _profiles_deny,
              hint="build each profile from the audit with seccomp.build_profile (it refuses by default) "
                   "and save it with seccomp.write_profile"),
        Check("apparmor-field", "the pod uses the AppArmor field with your profile", 1, _apparmor_field,
              needs=("seccomp-per-container",),
              hint="put securityContext.appArmorProfile at pod level (spec.securityContext), so it covers "
                   "both containers, naming the profile declared on the first line of capstone.apparmor"),
        stoppable("apparmor-stoppable", needs=()),
        Check("runs", "both containers run and the app answers", 3, _runs, live=True,
              needs=("seccomp-per-container", "profiles-deny"),
              hint="a container that crash-loops lacks a syscall of its own programs: build fetcher.json from "
                   "audit.syscalls['fetcher'] (sh, curl and sleep all run under it), not from web's"),
        Check("seccomp-mode", "both containers run with Seccomp: 2", 1,
              lambda ctx: "; ".join(_main_process_seccomp(ctx, _pod(ctx), c) for c in CONTAINERS),
              live=True, needs=("runs",)),
        Check("attack-denied", "mkdir in web fails with EPERM (works Unconfined)", 1,
              lambda ctx: attack_with_control(ctx, _pod(ctx), "web", ["mkdir", "/tmp/grader-probe"]),
              live=True, needs=("runs",),
              hint="the audit saw nginx's own mkdir (its temp folders, at every start), so a list built from "
                   "it allows every mkdir: keep mkdir only for the mode nginx uses, with an argument filter "
                   "(lesson 04)"),
        Check("apparmor-enforced", "web runs confined by your AppArmor profile", 1,
              # the grading pod shares its process namespace (for the probe): PID 1 is pause
              lambda ctx: require_enforced(ctx, _pod(ctx, with_apparmor=True), "web", process="self"), live=True,
              needs=("runs", "apparmor-field"),
              hint="`runs` passed without AppArmor, so what fails here is your AppArmor profile: nginx needs the "
                   "capabilities and file access of lesson 06's course-nginx-deny-write, and the check reads the "
                   "label with `cat /proc/self/attr/current` in web"),
        Check("apparmor-denies-write", "under your AppArmor profile web serves and cannot write under /etc", 1,
              _apparmor_serves_and_denies, live=True, needs=("apparmor-enforced",),
              hint="lesson 06: an AppArmor profile shrinks what a taken-over nginx can do, here writing where "
                   "nginx never writes"),
    ),
)
