"""Check a manifest against the Pod Security Standards without a cluster.

Each control of https://kubernetes.io/docs/concepts/security/pod-security-standards/ is one
:class:`Rule` in :data:`RULES`, named as that page names it; its ``check`` is the id the
PodSecurity admission controller reports (``allowPrivilegeEscalation``, ``hostNamespaces``, ...).
Why a table: the grader's policy refuses some of the same things (privileged, host
namespaces, host ports, /proc mount), and takes those rules from here by control name.
"""
from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .errors import ManifestError
from .names import APPARMOR_ANNOTATION_PREFIX
from .podspec import TEMPLATE_PATH, container_entries, find_pod, spec_path
from .results import Result

__all__ = ["LEVELS", "Rule", "RULES", "PodSecurityViolation", "PodSecurityReport", "check_pod_security",
           "pod_security_violations", "BASELINE_CAPABILITIES", "SAFE_SYSCTLS", "RESTRICTED_VOLUMES"]

LEVELS = ("baseline", "restricted")
#: Baseline "Capabilities": what a container may add (everything else is refused).
BASELINE_CAPABILITIES = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})
#: Baseline "Sysctls" (Kubernetes 1.32+): sysctls a pod may set.
SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"})
#: Restricted "Volume Types": the only volume types allowed.
RESTRICTED_VOLUMES = ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image",
                      "persistentVolumeClaim", "projected", "secret")
_SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
_PROFILE_TYPES = ("RuntimeDefault", "Localhost")


@dataclass(frozen=True)
class PodSecurityViolation(Result):
    """One field that breaks a Pod Security level; ``fix`` says what to write instead."""

    check: str        # the Pod Security admission check id, e.g. allowPrivilegeEscalation
    level: str        # baseline or restricted
    path: str         # e.g. spec.containers[0].securityContext.allowPrivilegeEscalation
    message: str
    fix: str


@dataclass
class PodSecurityReport(Result):
    """Whether a manifest passes a Pod Security level, and each violation with its fix."""

    kind: str
    name: str
    level: str
    violations: list[PodSecurityViolation] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return not self.violations

    def __str__(self) -> str:
        if self.allowed:
            return f"{self.kind} {self.name} meets Pod Security {self.level!r}"
        lines = [f"{self.kind} {self.name} violates Pod Security {self.level!r}:"]
        lines += [f"- {v.path}: {v.message}\n  fix: {v.fix}" for v in self.violations]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        colour = "#27ae60" if self.allowed else "#c0392b"
        head = (f"<b>{html.escape(self.kind)} {html.escape(self.name)}</b> "
                f"{'meets' if self.allowed else 'violates'} Pod Security <b>{html.escape(self.level)}</b>")
        items = "".join(f"<li><code>{html.escape(v.path)}</code>: {html.escape(v.message)}"
                        f"<br><i>fix:</i> {html.escape(v.fix)}</li>" for v in self.violations)
        return f'<div style="border-left:4px solid {colour};padding:4px 8px">{head}<ul>{items}</ul></div>'


# --------------------------------------------------------------------------- what a rule reads

def _map(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _maps(value: Any) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


@dataclass(frozen=True)
class _Pod:
    """The parts of one pod the rules read, found once (a submission may be malformed: any
    part that is not a mapping reads as empty)."""

    spec: dict
    base: str                # the pod spec's path, e.g. spec.template.spec
    security: dict           # spec.securityContext
    annotations: dict
    annotations_path: str
    windows: bool            # spec.os.name: some restricted controls are Linux only


Found = tuple[str, str, str]   # (path, message, fix)


def _sc(container: dict) -> dict:
    return _map(container.get("securityContext"))


def _who(container: dict) -> str:
    return f"container {container.get('name')!r}"


# --------------------------------------------------------------------------- baseline controls

def _host_namespaces(pod: _Pod) -> Iterator[Found]:
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.spec.get(key):
            yield (f"{pod.base}.{key}", f"the pod shares the node's {key[4:]} namespace ({key}: true)",
                   f"remove {key} (or set it to false)")


def _privileged(pod: _Pod, path: str, c: dict) -> Iterator[Found]:
    if _sc(c).get("privileged"):
        yield f"{path}.securityContext.privileged", f"{_who(c)} is privileged", "remove privileged: true"


def _host_process(where: str, who: str, security: dict) -> Iterator[Found]:
    if _map(security.get("windowsOptions")).get("hostProcess"):
        yield (f"{where}.securityContext.windowsOptions.hostProcess", f"{who} asks for a Windows HostProcess",
               "remove windowsOptions.hostProcess")


def _added_capabilities(c: dict) -> list:
    added = _map(_sc(c).get("capabilities")).get("add")
    return added if isinstance(added, list) else []


def _baseline_capabilities(pod: _Pod, path: str, c: dict) -> Iterator[Found]:
    bad = [cap for cap in _added_capabilities(c) if cap not in BASELINE_CAPABILITIES]
    if bad:
        yield (f"{path}.securityContext.capabilities.add", f"{_who(c)} adds {', '.join(bad)}",
               f"remove {', '.join(bad)} from capabilities.add")


def _host_ports(pod: _Pod, path: str, c: dict) -> Iterator[Found]:
    for j, port in enumerate(c.get("ports") if isinstance(c.get("ports"), list) else []):
        if isinstance(port, dict) and port.get("hostPort"):
            yield (f"{path}.ports[{j}].hostPort", f"{_who(c)} uses hostPort {port['hostPort']}, a port of the node",
                   "remove hostPort (reach the pod with kubectl port-forward)")


def _proc_mount(pod: _Pod, path: str, c: dict) -> Iterator[Found]:
    mount = _sc(c).get("procMount")
    if mount not in (None, "Default"):
        yield (f"{path}.securityContext.procMount", f"{_who(c)} sets procMount {mount}",
               "remove procMount (or set Default)")


def _selinux(where: str, security: dict) -> Iterator[Found]:
    for key, value in _map(security.get("seLinuxOptions")).items():
        path = f"{where}.securityContext.seLinuxOptions.{key}"
        if key == "type" and value not in _SELINUX_TYPES:
            yield (path, f"SELinux type {value!r} is not allowed",
                   f"use one of {', '.join(sorted(t for t in _SELINUX_TYPES if t))} or leave it out")
        elif key in ("user", "role") and value:
            yield path, f"SELinux {key} may not be set", f"remove seLinuxOptions.{key}"


def _sysctls(pod: _Pod) -> Iterator[Found]:
    for i, sysctl in enumerate(_maps(pod.security.get("sysctls"))):
        if sysctl.get("name") not in SAFE_SYSCTLS:
            yield (f"{pod.base}.securityContext.sysctls[{i}]", f"sysctl {sysctl.get('name')!r} is not in the safe set",
                   "remove this sysctl")


def _host_path_volumes(pod: _Pod) -> Iterator[Found]:
    for i, volume in enumerate(_maps(pod.spec.get("volumes"))):
        if "hostPath" in volume:
            yield (f"{pod.base}.volumes[{i}].hostPath", f"volume {volume.get('name')!r} mounts a path of the node",
                   "use an emptyDir or configMap volume")


def _apparmor(where: str, who: str, security: dict) -> Iterator[Found]:
    profile = security.get("appArmorProfile")
    if profile and _map(profile).get("type") not in _PROFILE_TYPES:
        yield (f"{where}.securityContext.appArmorProfile.type", f"{who} sets AppArmor {_map(profile).get('type')}",
               "use type RuntimeDefault or Localhost")


def _apparmor_annotations(pod: _Pod) -> Iterator[Found]:
    for key in sorted(pod.annotations, key=str):
        value = pod.annotations[key]
        if str(key).startswith(APPARMOR_ANNOTATION_PREFIX) and value and value != "runtime/default" \
                and not str(value).startswith("localhost/"):
            yield (f"{pod.annotations_path}[{key}]", f"the annotation sets AppArmor {value!r}",
                   "use runtime/default or localhost/<profile> (or the appArmorProfile field)")


def _seccomp_type(security: dict) -> Any:
    return _map(security.get("seccompProfile")).get("type")


def _seccomp(where: str, who: str, security: dict) -> Iterator[Found]:
    kind = _seccomp_type(security)
    if kind and kind not in _PROFILE_TYPES:
        yield (f"{where}.securityContext.seccompProfile.type", f"{who} sets seccomp {kind}",
               "use type RuntimeDefault (or Localhost with your profile)")


def _host_probes(pod: _Pod, path: str, c: dict) -> Iterator[Found]:
    handlers = [(f"{path}.{key}", c.get(key)) for key in ("livenessProbe", "readinessProbe", "startupProbe")]
    handlers += [(f"{path}.lifecycle.{hook}", _map(c.get("lifecycle")).get(hook)) for hook in ("postStart", "preStop")]
    for where, handler in handlers:
        for kind in ("httpGet", "tcpSocket"):
            host = _map(_map(handler).get(kind)).get("host")
            if host:
                yield (f"{where}.{kind}.host", f"{_who(c)} probes host {host!r}",
                       "remove host (probes go to the pod's own IP)")


# --------------------------------------------------------------------------- restricted controls

def _volume_types(pod: _Pod) -> Iterator[Found]:
    for i, volume in enumerate(_maps(pod.spec.get("volumes"))):
        bad = [k for k in volume if k != "name" and k not in RESTRICTED_VOLUMES]
        if bad:
            yield (f"{pod.base}.volumes[{i}].{bad[0]}", f"volume {volume.get('name')!r} is of type {bad[0]}",
                   f"use one of {', '.join(RESTRICTED_VOLUMES)} (e.g. emptyDir or a configMap)")


def _privilege_escalation(pod: _Pod, path: str, c: dict) -> Iterator[Found]:
    if _sc(c).get("allowPrivilegeEscalation") is not False:
        yield (f"{path}.securityContext.allowPrivilegeEscalation",
               f"{_who(c)} may gain privileges (setuid binaries, file capabilities)",
               "set allowPrivilegeEscalation: false")


def _restricted_seccomp(pod: _Pod, path: str, c: dict) -> Iterator[Found]:
    if not _seccomp_type(_sc(c)) and not _seccomp_type(pod.security):
        yield (f"{path}.securityContext.seccompProfile",
               f"{_who(c)} has no seccomp profile (neither it nor the pod sets one)",
               f"set {pod.base}.securityContext.seccompProfile.type: RuntimeDefault (or Localhost)")


def _restricted_capabilities(pod: _Pod, path: str, c: dict) -> Iterator[Found]:
    dropped = _map(_sc(c).get("capabilities")).get("drop")
    if "ALL" not in (dropped if isinstance(dropped, list) else []):
        yield (f"{path}.securityContext.capabilities.drop", f"{_who(c)} keeps the runtime's default capabilities",
               'set capabilities: {drop: ["ALL"]}')
    bad = [cap for cap in _added_capabilities(c) if cap != "NET_BIND_SERVICE"]
    if bad:
        yield (f"{path}.securityContext.capabilities.add", f"{_who(c)} adds {', '.join(bad)}",
               "add nothing but NET_BIND_SERVICE (needed only to bind ports below 1024)")


def _non_root_pod(pod: _Pod) -> Iterator[Found]:
    if pod.security.get("runAsNonRoot") is False:
        yield f"{pod.base}.securityContext.runAsNonRoot", "the pod sets runAsNonRoot: false", "set runAsNonRoot: true"


def _non_root(pod: _Pod, path: str, c: dict) -> Iterator[Found]:
    own, where = _sc(c).get("runAsNonRoot"), f"{path}.securityContext.runAsNonRoot"
    if own is False:
        yield where, f"{_who(c)} sets runAsNonRoot: false", "set runAsNonRoot: true"
    elif own is None and pod.security.get("runAsNonRoot") is not True:
        yield (where, f"{_who(c)} may run as root (neither it nor the pod sets runAsNonRoot: true)",
               f"set {pod.base}.securityContext.runAsNonRoot: true and a non-zero runAsUser (e.g. 65534)")


def _root_user(where: str, who: str, security: dict) -> Iterator[Found]:
    if security.get("runAsUser") == 0:
        yield (f"{where}.securityContext.runAsUser", f"{who} runs as user 0 (root)",
               "use a non-zero runAsUser (e.g. 65534)")


# --------------------------------------------------------------------------- the table

def _pod_level(check: Callable[[str, str, dict], Iterable[Found]]) -> Callable[[_Pod], Iterable[Found]]:
    """A securityContext check applied to the pod's own securityContext."""
    return lambda pod: check(pod.base, "the pod", pod.security)


def _each_container(check: Callable[[str, str, dict], Iterable[Found]]) -> Callable[..., Iterable[Found]]:
    """The same securityContext check applied to one container's."""
    return lambda pod, path, c: check(path, _who(c), _sc(c))


def _none(*_: Any) -> Iterable[Found]:
    return ()


@dataclass(frozen=True)
class Rule:
    """One Pod Security control: what it checks at pod level and in each container.

    ``replaced_by`` names the restricted control that takes this baseline one's place at
    level restricted (as the admission controller's overrides do), unless that control does
    not apply (a Linux-only control on a Windows pod).
    """

    control: str                     # as the Pod Security Standards page names it
    check: str                       # the PodSecurity admission check id
    level: str                       # the level whose table lists it
    pod: Callable[[_Pod], Iterable[Found]] = _none
    container: Callable[[_Pod, str, dict], Iterable[Found]] = _none
    linux_only: bool = False
    replaced_by: str | None = None


#: Every control, in the order a report lists what breaks it (pod level first, then per container).
RULES = (
    Rule("Host Namespaces", "hostNamespaces", "baseline", pod=_host_namespaces),
    Rule("Privileged Containers", "privileged", "baseline", container=_privileged),
    Rule("HostProcess", "windowsHostProcess", "baseline",
         pod=_pod_level(_host_process), container=_each_container(_host_process)),
    Rule("Capabilities", "capabilities_baseline", "baseline", container=_baseline_capabilities,
         replaced_by="Capabilities (v1.22+)"),
    Rule("Host Ports", "hostPorts", "baseline", container=_host_ports),
    Rule("/proc Mount Type", "procMount", "baseline", container=_proc_mount),
    Rule("SELinux", "seLinuxOptions", "baseline",
         pod=lambda pod: _selinux(pod.base, pod.security), container=lambda pod, path, c: _selinux(path, _sc(c))),
    Rule("Sysctls", "sysctls", "baseline", pod=_sysctls),
    Rule("HostPath Volumes", "hostPathVolumes", "baseline", pod=_host_path_volumes, replaced_by="Volume Types"),
    Rule("Volume Types", "restrictedVolumes", "restricted", pod=_volume_types),
    Rule("AppArmor", "appArmorProfile", "baseline",
         pod=lambda pod: (*_pod_level(_apparmor)(pod), *_apparmor_annotations(pod)),
         container=_each_container(_apparmor)),
    Rule("Seccomp", "seccompProfile", "baseline", pod=_pod_level(_seccomp), container=_each_container(_seccomp)),
    Rule("Seccomp (v1.19+)", "seccompProfile", "restricted", container=_restricted_seccomp, linux_only=True),
    Rule("Host Probes / Lifecycle Hooks (v1.34+)", "hostProbesAndHostLifecycle", "baseline", container=_host_probes),
    Rule("Privilege Escalation (v1.8+)", "allowPrivilegeEscalation", "restricted", container=_privilege_escalation,
         linux_only=True),
    Rule("Capabilities (v1.22+)", "capabilities_restricted", "restricted", container=_restricted_capabilities,
         linux_only=True),
    Rule("Running as Non-root", "runAsNonRoot", "restricted", pod=_non_root_pod, container=_non_root),
    Rule("Running as Non-root user (v1.23+)", "runAsUser", "restricted",
         pod=_pod_level(_root_user), container=_each_container(_root_user)),
)
_BY_CONTROL = {rule.control: rule for rule in RULES}


def _applies(rule: Rule, level: str, windows: bool) -> bool:
    if rule.level == "restricted" and level != "restricted" or rule.linux_only and windows:
        return False
    replacement = _BY_CONTROL.get(rule.replaced_by or "")
    return replacement is None or not _applies(replacement, level, windows)


# --------------------------------------------------------------------------- the driver

def _pod_view(doc: dict) -> _Pod:
    metadata, spec = find_pod(doc)
    spec = _map(spec)
    return _Pod(spec, spec_path(doc["kind"]), _map(spec.get("securityContext")),
                _map(_map(metadata).get("annotations")),
                ".".join((*TEMPLATE_PATH[doc["kind"]], "metadata", "annotations")),
                _map(spec.get("os")).get("name") == "windows")


def pod_security_violations(doc: dict, level: str = "restricted", *,
                            controls: Iterable[str] | None = None) -> list[PodSecurityViolation]:
    """What breaks Pod Security ``level`` in a document with a pod; ``controls`` keeps only
    those controls (names as in :data:`RULES`)."""
    if level not in LEVELS:
        raise ManifestError(f"unknown Pod Security level {level!r}", fix="use 'baseline' or 'restricted'")
    if doc.get("kind") not in TEMPLATE_PATH:
        raise ManifestError(f"a {doc.get('kind')} has no pods, so it has no security settings",
                            fix=f"use one of: {', '.join(TEMPLATE_PATH)}")
    pod = _pod_view(doc)
    rules = [r for r in RULES if _applies(r, level, pod.windows)]
    if controls is not None:
        wanted = set(controls)
        unknown = wanted - set(_BY_CONTROL)
        if unknown:
            raise ManifestError(f"no Pod Security control named {', '.join(sorted(unknown))}",
                                fix=f"use the names in labs.pod_security.RULES: {', '.join(_BY_CONTROL)}")
        rules = [r for r in rules if r.control in wanted]
    found = [(r, f) for r in rules for f in r.pod(pod)]
    found += [(r, f) for path, c in container_entries(pod.spec, pod.base)
              for r in rules for f in r.container(pod, path, c)]
    return [PodSecurityViolation(r.check, r.level, *f) for r, f in found]


def check_pod_security(doc: dict, level: str = "restricted") -> PodSecurityReport:
    """Check a manifest against Pod Security ``baseline`` or ``restricted`` (as enforced by
    the PodSecurity admission controller, version latest) without a cluster."""
    violations = pod_security_violations(doc, level)
    return PodSecurityReport(doc["kind"], (doc.get("metadata") or {}).get("name", ""), level, violations)
