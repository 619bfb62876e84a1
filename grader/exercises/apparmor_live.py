"""The AppArmor checks shared by 06, 07 and 09: the profile parses and lets the runtime stop the
container (static), and the live ones, which run only where nodes enforce AppArmor.

The learner's profile is loaded under a per-run name (``grader-<token>-...``) so parallel
grading runs and the node's own profiles never collide; it is unloaded afterwards.
"""
from __future__ import annotations

import re

from labs.apparmor import load_profile_on_nodes, unload_profile_on_nodes
from labs.errors import LabError, ProfileError

from ..checks import live
from ..checks.apparmor import require_stoppable, syntax_name
from ..model import Check, NotChecked

__all__ = ["PARSES", "stoppable", "loaded_name", "run_confined", "require_enforced", "write_denied"]

_HEADER = re.compile(r"^(\s*profile\s+)(\S+)", re.M)

#: The first check of every AppArmor exercise: the learner's file parses (and is safe to load).
PARSES = Check("parses", "apparmor_parser accepts the profile", 1, lambda ctx: f"profile {syntax_name(ctx)} parses",
               hint="`apparmor_parser -Q -K FILE` shows the first syntax error")


def stoppable(check_id: str = "stoppable", needs: tuple[str, ...] = ("parses",)) -> Check:
    """The check every AppArmor exercise has: a pod under the profile can be deleted."""
    return Check(check_id, "the kubelet can stop the container (the runtime's signals get through)", 1,
                 require_stoppable, needs=needs,
                 hint="AppArmor mediates signals: lesson 06's concept section shows the include that lets "
                      "the container runtime (unconfined) stop the container")


def loaded_name(ctx, role: str = "apparmor") -> str:
    """Load the renamed profile on the AppArmor nodes once; return the name pods must use."""
    def load():
        nodes = live.require_apparmor_nodes(ctx)
        original = syntax_name(ctx, role)
        text = ctx.text(role)
        if not _HEADER.search(text):
            raise ProfileError("write the profile as `profile NAME flags=(...) {`",
                               fix="the grader needs the `profile NAME` form to load it under its own name")
        name = ctx.node_file(re.sub(r"[^A-Za-z0-9_.-]", "-", original))
        renamed = _HEADER.sub(lambda m: m.group(1) + name, text, count=1)
        ctx.cleanup.callback(unload_profile_on_nodes, name, config=ctx.cluster, nodes=nodes)
        load_profile_on_nodes(renamed, config=ctx.cluster, nodes=nodes)
        return name
    return ctx.memo(f"aa-loaded:{role}", load)


def run_confined(ctx, pod_name: str = "confined", role: str = "apparmor") -> str:
    """The grader's sleeper pod under the learner's AppArmor profile (field, container level)."""
    def start():
        name = loaded_name(ctx, role)
        pod = live.template("sleeper-pod.yaml")
        pod["metadata"]["name"] = pod_name
        pod["spec"]["containers"][0]["securityContext"] = {
            "appArmorProfile": {"type": "Localhost", "localhostProfile": name}}
        live.run_pod(ctx, pod)
        return pod_name
    return ctx.memo(f"aa-pod:{pod_name}", start)


def require_enforced(ctx, pod: str, container: str = "main", process: str = "1") -> str:
    """The container's AppArmor label must be an enforce-mode profile. ``process`` is the /proc
    entry read: PID 1 is the container's main process, except in a pod that shares its process
    namespace, where PID 1 is the pod's pause process ('unconfined'); such pods pass "self",
    the `cat` run in the container, which the runtime confines with the container's profile
    as it does the main process."""
    result = live.exec_ok(ctx, pod, container, ["cat", f"/proc/{process}/attr/current"])
    label = result.stdout.strip()
    if result.returncode != 0:   # refused by the profile itself: no label to judge, and complain is not why
        raise LabError(f"`cat /proc/{process}/attr/current` failed in the {container} container, so its AppArmor "
                       f"label could not be read: {result.stderr.strip()[-200:]}",
                       fix="the check reads the label the way lesson 06 does, from inside the container: let the "
                           "profile run cat and read the label (for example `/{,usr/}bin/cat ix,` and "
                           "`@{PROC}/@{pid}/attr/current r,`)")
    if not label.endswith("(enforce)"):
        raise LabError(f"the container runs as {label or result.stderr.strip()!r}, not in enforce mode",
                       fix="remove flags=(complain) once the profile covers what the app needs")
    return f"the container runs confined: {label}"


def write_denied(ctx, pod: str, path: str, container: str = "main") -> str:
    """Writing ``path`` fails under the profile and works in an unconfined control pod."""
    command = ["touch", path]

    def control():
        pod_ = live.template("sleeper-pod.yaml")
        pod_["metadata"]["name"] = "aa-control"
        pod_["spec"]["containers"][0]["securityContext"] = {"appArmorProfile": {"type": "Unconfined"}}
        live.run_pod(ctx, pod_)
        return live.exec_ok(ctx, "aa-control", "main", command).returncode == 0
    if not ctx.memo(f"aa-control:{path}", control):
        raise NotChecked(f"writing {path} fails even without AppArmor here, so a denial proves nothing")
    live.attack_denied(ctx, pod, container, command)
    return f"writing {path} is refused under your profile and works unconfined"
