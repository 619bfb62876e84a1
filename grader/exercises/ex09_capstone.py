"""09-capstone: a two-container app locked down with seccomp (per container) and AppArmor."""
from __future__ import annotations

from labs.errors import LabError, ManifestError

from ..checks import live
from ..checks.apparmor import require_named, syntax_name
from ..checks.seccomp import load_submitted_profile, require_denies_by_default
from ..context import Exercise
from ..model import Check
from .apparmor_live import loaded_name, require_enforced
from .common import app_answers, attack_with_control, seccomp_filter_on, single_pod

CONTAINERS = {"web": "web", "fetcher": "fetcher"}  # container name -> profile role


def _seccomp_per_container(ctx) -> str:
    from labs.manifests import seccomp_settings

    settings = {s.container: s for s in seccomp_settings(single_pod(ctx))}
    for container, role in CONTAINERS.items():
        s = settings.get(container)
        if s is None:
            raise ManifestError(f"the pod has no container named {container!r}", fix="name the containers web and fetcher")
        if s.type != "Localhost" or not str(s.localhost_profile or "").endswith(ctx.filename(role)):
            raise ManifestError(f"container {container!r} uses seccomp {s.type} {s.localhost_profile or ''}".rstrip(),
                                fix=f"give it type: Localhost, localhostProfile: profiles/{ctx.filename(role)}")
    return "each container has its own Localhost seccomp profile"


def _profiles_deny(ctx) -> str:
    for role in CONTAINERS.values():
        require_denies_by_default(load_submitted_profile(ctx, role))
    return "both profiles are valid and deny by default"


def _apparmor_field(ctx) -> str:
    from labs.manifests import apparmor_style

    pod = single_pod(ctx)
    if apparmor_style(pod) == "none":
        raise ManifestError("the pod does not ask for an AppArmor profile",
                            fix="add securityContext.appArmorProfile: {type: Localhost, localhostProfile: NAME}")
    if apparmor_style(pod) != "field":
        raise ManifestError("use the securityContext.appArmorProfile field (not the annotation)",
                            fix="the annotation is deprecated since Kubernetes 1.30")
    return require_named(pod, syntax_name(ctx))


def _pod(ctx, with_apparmor: bool = False) -> str:
    def start():
        live.require_cluster(ctx)
        pod = live.template("capstone-pod.yaml")
        name = "capstone-aa" if with_apparmor else "capstone"
        pod["metadata"]["name"] = name
        aa = loaded_name(ctx) if with_apparmor else None
        for c in pod["spec"]["containers"]:
            role = CONTAINERS.get(c["name"])
            if role is None:
                continue
            sc = {"seccompProfile": {"type": "Localhost",
                                     "localhostProfile": live.install_profile(ctx, f"{role}.json", load_submitted_profile(ctx, role))}}
            if aa:
                sc["appArmorProfile"] = {"type": "Localhost", "localhostProfile": aa}
            c["securityContext"] = sc
        live.run_pod(ctx, pod)
        return name
    return ctx.memo(f"capstone:{with_apparmor}", start)


def _runs(ctx) -> str:
    pod = _pod(ctx)
    message = app_answers(ctx, pod)
    from labs.pods import pod_logs

    if "ok" not in pod_logs(pod, live.grading_namespace(ctx), container="fetcher", config=ctx.config):
        raise LabError("the fetcher never reached the web container", fix="the fetcher runs sh + curl: audit it too")
    return message + "; the fetcher reaches it"


EXERCISE = Exercise(
    id="09-capstone",
    title="Capstone: lock down a two-container app",
    files={"pod": "app.yaml", "web": "web.json", "fetcher": "fetcher.json", "apparmor": "capstone.apparmor"},
    checks=(
        Check("seccomp-per-container", "one Pod; each container has its own Localhost seccomp profile", 3,
              _seccomp_per_container),
        Check("profiles-deny", "web.json and fetcher.json are valid and deny by default", 2, _profiles_deny),
        Check("apparmor-field", "the pod uses the AppArmor field with your profile", 1, _apparmor_field,
              needs=("seccomp-per-container",)),
        Check("runs", "both containers run and the app answers", 3, _runs, live=True,
              needs=("seccomp-per-container", "profiles-deny")),
        Check("seccomp-mode", "both containers run with Seccomp: 2", 1,
              lambda ctx: "; ".join(seccomp_filter_on(ctx, _pod(ctx), comm) for comm in ("nginx", "fetcher")),
              live=True, needs=("runs",)),
        Check("attack-denied", "mkdir in web fails with EPERM (works Unconfined)", 1,
              lambda ctx: attack_with_control(ctx, _pod(ctx), "web", ["mkdir", "/tmp/grader-probe"]),
              live=True, needs=("runs",)),
        Check("apparmor-enforced", "web runs confined by your AppArmor profile", 1,
              lambda ctx: require_enforced(ctx, _pod(ctx, with_apparmor=True), "web"), live=True,
              needs=("runs", "apparmor-field")),
    ),
)
