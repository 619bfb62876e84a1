"""Kubernetes manifests as plain dicts: load, validate, set and inspect seccomp/AppArmor, and
check them against the Pod Security Standards.

Why pure functions on dicts: lessons, the grader and :mod:`labs.pods` all need the same answers
("which seccomp profile does container X get?", "why would a restricted namespace refuse
this?") without a cluster, and learners edit YAML files, not client objects. Setters return a
modified deep copy and never touch their input.
"""
from __future__ import annotations

import copy
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml

from .errors import ManifestError
from .names import APPARMOR_ANNOTATION_PREFIX, KUBELET_SECCOMP_DIR, MANAGED_LABEL, SECCOMP_PROFILES_PREFIX
from .results import Result

__all__ = [
    "MANAGED_LABEL",
    "SUPPORTED_KINDS",
    "SECCOMP_TYPES",
    "APPARMOR_TYPES",
    "APPARMOR_ANNOTATION_PREFIX",
    "load_manifests",
    "with_managed_label",
    "pod_template",
    "containers",
    "set_seccomp",
    "seccomp_settings",
    "SeccompSetting",
    "set_apparmor",
    "apparmor_settings",
    "apparmor_style",
    "AppArmorSetting",
    "check_pod_security",
    "PodSecurityReport",
    "PodSecurityViolation",
    "SECCOMP_PROFILES_PREFIX",
    "localhost_profile_problem",
]

#: Namespaced kinds ``apply_manifest`` handles, with the apiVersion each must declare.
SUPPORTED_KINDS = {
    "Pod": "v1",
    "ConfigMap": "v1",
    "Secret": "v1",
    "Service": "v1",
    "ServiceAccount": "v1",
    "PersistentVolumeClaim": "v1",
    "Deployment": "apps/v1",
    "DaemonSet": "apps/v1",
    "StatefulSet": "apps/v1",
    "ReplicaSet": "apps/v1",
    "Job": "batch/v1",
    "CronJob": "batch/v1",
    "NetworkPolicy": "networking.k8s.io/v1",
    "Role": "rbac.authorization.k8s.io/v1",
    "RoleBinding": "rbac.authorization.k8s.io/v1",
}

SECCOMP_TYPES = ("RuntimeDefault", "Localhost", "Unconfined")
APPARMOR_TYPES = ("RuntimeDefault", "Localhost", "Unconfined")

# Where each workload kind keeps its pod template (keys from the top of the document).
_TEMPLATE_PATH = {
    "Pod": (),
    "Deployment": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


# --------------------------------------------------------------------------- loading

def load_manifests(source: str | Path | dict | list) -> list[dict]:
    """Documents from a file path, a YAML/JSON string (multi-document), a dict or a list.

    Every document is checked for the fields ``apply_manifest`` needs; the error names the
    document and says how to fix it. ``kind: List`` documents are expanded.
    """
    origin = "the manifest"
    if isinstance(source, dict):
        docs: list[Any] = [source]
    elif isinstance(source, list):
        docs = list(source)
    else:
        text, origin = _read_source(source)
        docs = _parse_yaml(text, origin)
    expanded: list[Any] = []
    for doc in docs:
        if isinstance(doc, dict) and doc.get("kind") == "List":
            expanded.extend(doc.get("items") or [])
        elif doc is not None:
            expanded.append(doc)
    if not expanded:
        raise ManifestError(f"{origin} holds no Kubernetes objects",
                            fix="write at least one document with apiVersion, kind and metadata.name")
    for index, doc in enumerate(expanded, 1):
        _validate(doc, f"document {index} of {origin}")
    return [copy.deepcopy(d) for d in expanded]


def _read_source(source: str | Path) -> tuple[str, str]:
    looks_like_path = isinstance(source, Path) or (
        "\n" not in source and source.strip().endswith((".yaml", ".yml", ".json")))
    if not looks_like_path:
        return str(source), "the manifest text"
    path = Path(source)
    try:
        return path.read_text(), str(path)
    except FileNotFoundError:
        raise ManifestError(f"manifest file {path} does not exist",
                            fix="check the path (relative paths start at the notebook's folder)") from None
    except OSError as exc:
        raise ManifestError(f"cannot read manifest file {path}: {exc.strerror}",
                            fix="check the file's permissions") from None


def _parse_yaml(text: str, origin: str) -> list[Any]:
    try:
        return list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ManifestError(
            f"{origin} is not valid YAML{where}: {problem}",
            fix="check the indentation there (spaces only, no tabs; list items start with '- ' "
                "and keys line up under their parent)") from None


def _validate(doc: Any, where: str) -> None:
    if not isinstance(doc, dict):
        raise ManifestError(f"{where} is a {type(doc).__name__}, not a Kubernetes object",
                            fix="each document needs `apiVersion:`, `kind:` and `metadata:` keys at the top level")
    kind = doc.get("kind")
    if not kind:
        raise ManifestError(f"{where} has no `kind`",
                            fix=f"add a top-level `kind:` (one of {', '.join(SUPPORTED_KINDS)})")
    metadata = doc.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    label = f"{where} ({kind}"
    if not name:
        raise ManifestError(f"{label}) has no `metadata.name`",
                            fix="add `metadata:` with a `name:` (lowercase letters, digits and '-')")
    label += f" {name!r})"
    if kind not in SUPPORTED_KINDS:
        close = difflib.get_close_matches(str(kind), SUPPORTED_KINDS, n=1)
        hint = f"did you mean `kind: {close[0]}`? " if close else ""
        raise ManifestError(f"{label}: unknown or unsupported kind {kind!r}",
                            fix=f"{hint}supported kinds: {', '.join(SUPPORTED_KINDS)}")
    expected = SUPPORTED_KINDS[kind]
    if doc.get("apiVersion") != expected:
        raise ManifestError(f"{label}: apiVersion is {doc.get('apiVersion')!r}, but {kind} is served as {expected!r}",
                            fix=f"set `apiVersion: {expected}`")
    if not isinstance(name, str) or len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
        raise ManifestError(f"{label}: {name!r} is not a valid object name",
                            fix="use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit")
    if kind in _TEMPLATE_PATH:
        template = _get(doc, _TEMPLATE_PATH[kind])
        spec = template.get("spec") if isinstance(template, dict) else None
        path = ".".join((*_TEMPLATE_PATH[kind], "spec")) or "spec"
        if not isinstance(spec, dict) or not spec.get("containers"):
            raise ManifestError(f"{label} has no `{path}.containers`",
                                fix=f"add `{path}.containers:` with at least one container (name and image)")
        for i, container in enumerate(spec["containers"]):
            if not isinstance(container, dict) or not container.get("name") or not container.get("image"):
                raise ManifestError(f"{label}: `{path}.containers[{i}]` needs a `name` and an `image`",
                                    fix="give every container `name:` and `image:` (course images: course/nginx, course/tools)")
        _check_seccomp_fields(spec, path, label)


def localhost_profile_problem(value: Any) -> tuple[str, str] | None:
    """(problem, fix) when a seccomp ``localhostProfile`` is not a descending path under
    ``profiles/``, else None.

    The API server refuses an absolute path ("must be a relative path") and any ``..`` element
    ("must not contain '..'"): ``validateLocalDescendingPath`` in Kubernetes'
    pkg/apis/core/validation. The kubelet resolves what is left below its seccomp directory,
    and the course installs every profile in ``profiles/`` there.
    """
    fix = (f"write the path below {KUBELET_SECCOMP_DIR}/ on the node, e.g. "
           f"localhostProfile: {SECCOMP_PROFILES_PREFIX}audit.json")
    if not isinstance(value, str) or not value:
        return "is missing: the API server requires it when seccomp type is Localhost", fix
    if value.startswith("/"):
        return f"{value!r} is absolute: the API server refuses it (\"must be a relative path\")", fix
    if ".." in value.split("/"):
        return f"{value!r} contains '..': the API server refuses it (\"must not contain '..'\")", fix
    if not value.startswith(SECCOMP_PROFILES_PREFIX) or value.endswith("/"):
        return (f"{value!r} is not a file under {SECCOMP_PROFILES_PREFIX}: the course installs profiles in "
                f"{KUBELET_SECCOMP_DIR}/{SECCOMP_PROFILES_PREFIX}, so the kubelet would not find it "
                "(the pod would wait in CreateContainerError)", fix)
    return None


def _check_seccomp_fields(spec: dict, base: str, label: str) -> None:
    """Refuse a seccompProfile the API server would refuse, naming the field path."""
    places = [(f"{base}.securityContext", spec.get("securityContext"))]
    for key in _CONTAINER_LISTS:
        for i, c in enumerate(spec.get(key) or []):
            if isinstance(c, dict):
                places.append((f"{base}.{key}[{i}].securityContext", c.get("securityContext")))
    for path, sc in places:
        block = sc.get("seccompProfile") if isinstance(sc, dict) else None
        if not isinstance(block, dict):
            continue
        if block.get("type") != "Localhost":
            if "localhostProfile" in block:
                raise ManifestError(f"{label}: {path}.seccompProfile.localhostProfile can only be set when "
                                    f"seccomp type is Localhost (it is {block.get('type')!r})",
                                    fix="use type: Localhost, or drop localhostProfile")
            continue
        problem = localhost_profile_problem(block.get("localhostProfile"))
        if problem:
            raise ManifestError(f"{label}: {path}.seccompProfile.localhostProfile {problem[0]}", fix=problem[1])


def with_managed_label(doc: dict) -> dict:
    """A copy of ``doc`` labelled as the course's (and its pod template too, so pods are)."""
    doc = copy.deepcopy(doc)
    key, value = MANAGED_LABEL
    doc.setdefault("metadata", {}).setdefault("labels", {})[key] = value
    if doc.get("kind") in _TEMPLATE_PATH and doc["kind"] != "Pod":
        template = pod_template(doc)
        template.setdefault("metadata", {}).setdefault("labels", {})[key] = value
    return doc


# --------------------------------------------------------------------------- navigation

def _get(doc: dict, path: tuple[str, ...]) -> Any:
    node: Any = doc
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def pod_template(doc: dict) -> dict:
    """The object holding the pod's ``metadata`` and ``spec`` (the Pod itself, or the
    template of a Deployment, DaemonSet, StatefulSet, ReplicaSet, Job or CronJob)."""
    kind = doc.get("kind")
    if kind not in _TEMPLATE_PATH:
        raise ManifestError(f"a {kind} has no pods, so it has no security settings",
                            fix=f"use one of: {', '.join(_TEMPLATE_PATH)}")
    node = doc
    for key in _TEMPLATE_PATH[kind]:
        node = node.setdefault(key, {})
    return node


def containers(doc: dict) -> list[dict]:
    """Every container of the pod: init containers, containers, ephemeral containers."""
    spec = pod_template(doc).get("spec") or {}
    return [c for key in _CONTAINER_LISTS for c in spec.get(key) or []]


def _indexed_containers(doc: dict) -> Iterator[tuple[str, dict]]:
    """(path, container) pairs, paths like ``spec.template.spec.containers[0]``."""
    spec = pod_template(doc).get("spec") or {}
    base = ".".join((*_TEMPLATE_PATH[doc["kind"]], "spec"))
    for key in _CONTAINER_LISTS:
        for i, container in enumerate(spec.get(key) or []):
            yield f"{base}.{key}[{i}]", container


def _container(doc: dict, name: str) -> dict:
    for c in containers(doc):
        if c.get("name") == name:
            return c
    names = ", ".join(repr(c.get("name")) for c in containers(doc))
    raise ManifestError(f"the pod has no container named {name!r}", fix=f"use one of: {names}")


# --------------------------------------------------------------------------- seccomp

@dataclass(frozen=True)
class SeccompSetting(Result):
    """The seccomp profile a container gets and where that comes from.

    ``source`` is ``container`` / ``pod`` (securityContext at that level) or ``none``: then the
    kubelet's default applies (Unconfined, or RuntimeDefault with ``seccompDefault: true``).
    """

    container: str
    type: str | None
    localhost_profile: str | None
    source: str


def _profile_block(profile_type: str, localhost_profile: str | None, types: tuple[str, ...], what: str) -> dict:
    if profile_type not in types:
        close = difflib.get_close_matches(profile_type, types, n=1)
        raise ManifestError(f"{profile_type!r} is not a {what} profile type",
                            fix=f"use one of {', '.join(types)}" + (f" (did you mean {close[0]}?)" if close else ""))
    if profile_type == "Localhost":
        if not localhost_profile:
            raise ManifestError(f"a Localhost {what} profile needs localhost_profile",
                                fix="name the profile, e.g. localhost_profile='profiles/audit.json'")
        problem = localhost_profile_problem(localhost_profile) if what == "seccomp" else None
        if problem:
            raise ManifestError(f"localhostProfile {problem[0]}", fix=problem[1])
        return {"type": profile_type, "localhostProfile": localhost_profile}
    if localhost_profile:
        raise ManifestError(f"localhost_profile is only used with type Localhost, not {profile_type}",
                            fix="drop localhost_profile or use type 'Localhost'")
    return {"type": profile_type}


def set_seccomp(doc: dict, profile_type: str, localhost_profile: str | None = None, *,
                container: str | None = None) -> dict:
    """A copy of ``doc`` with ``securityContext.seccompProfile`` set at pod level
    (``container=None``) or for one container (which then overrides the pod level)."""
    block = _profile_block(profile_type, localhost_profile, SECCOMP_TYPES, "seccomp")
    doc = copy.deepcopy(doc)
    target = _container(doc, container) if container else pod_template(doc).setdefault("spec", {})
    target.setdefault("securityContext", {})["seccompProfile"] = block
    return doc


def seccomp_settings(doc: dict) -> list[SeccompSetting]:
    """The effective seccomp setting of every container (container level beats pod level)."""
    pod = ((pod_template(doc).get("spec") or {}).get("securityContext") or {}).get("seccompProfile")
    out = []
    for c in containers(doc):
        own = (c.get("securityContext") or {}).get("seccompProfile")
        chosen, source = (own, "container") if own else (pod, "pod") if pod else (None, "none")
        out.append(SeccompSetting(c.get("name", ""), (chosen or {}).get("type"),
                                  (chosen or {}).get("localhostProfile"), source))
    return out


# --------------------------------------------------------------------------- AppArmor

@dataclass(frozen=True)
class AppArmorSetting(Result):
    """The AppArmor profile a container asks for, and whether it says so in the
    ``securityContext.appArmorProfile`` field (GA in 1.31) or the deprecated annotation.

    ``source``: ``container-field``, ``pod-field``, ``annotation`` or ``none`` (the runtime's
    default applies). ``conflict`` explains a field and an annotation that disagree, which
    the API server rejects.
    """

    container: str
    type: str | None
    localhost_profile: str | None
    source: str
    conflict: str | None = None


_ANNOTATION_VALUE = {"RuntimeDefault": "runtime/default", "Unconfined": "unconfined"}


def _annotation_to_block(value: str) -> dict:
    if value.startswith("localhost/"):
        return {"type": "Localhost", "localhostProfile": value[len("localhost/"):]}
    for profile_type, text in _ANNOTATION_VALUE.items():
        if value == text:
            return {"type": profile_type}
    return {"type": f"invalid annotation value {value!r}"}


def set_apparmor(doc: dict, profile_type: str, localhost_profile: str | None = None, *,
                 container: str | None = None, style: str = "field") -> dict:
    """A copy of ``doc`` with AppArmor set for one container or (``container=None``) all.

    ``style="field"`` writes ``securityContext.appArmorProfile`` (pod level when
    ``container=None``); ``style="annotation"`` writes the deprecated per-container annotation
    ``container.apparmor.security.beta.kubernetes.io/<name>``. The other style's setting for
    the same containers is removed, because the API server rejects the two when they differ.
    """
    if style not in ("field", "annotation"):
        raise ManifestError(f"unknown AppArmor style {style!r}", fix="use style='field' or style='annotation'")
    block = _profile_block(profile_type, localhost_profile, APPARMOR_TYPES, "AppArmor")
    doc = copy.deepcopy(doc)
    template = pod_template(doc)
    spec = template.setdefault("spec", {})
    targets = [_container(doc, container)] if container else containers(doc)
    annotations = template.setdefault("metadata", {}).setdefault("annotations", {})
    for c in targets:
        key = APPARMOR_ANNOTATION_PREFIX + c["name"]
        if style == "field":
            annotations.pop(key, None)
        else:
            (c.get("securityContext") or {}).pop("appArmorProfile", None)
            annotations[key] = (f"localhost/{localhost_profile}" if profile_type == "Localhost"
                                else _ANNOTATION_VALUE[profile_type])
    if style == "field":
        target = targets[0] if container else spec
        target.setdefault("securityContext", {})["appArmorProfile"] = block
    elif container is None:
        (spec.get("securityContext") or {}).pop("appArmorProfile", None)
    if not annotations:
        del template["metadata"]["annotations"]
    return doc


def apparmor_settings(doc: dict) -> list[AppArmorSetting]:
    """The AppArmor profile every container asks for, and where it is written."""
    template = pod_template(doc)
    pod_field = ((template.get("spec") or {}).get("securityContext") or {}).get("appArmorProfile")
    annotations = (template.get("metadata") or {}).get("annotations") or {}
    out = []
    for c in containers(doc):
        name = c.get("name", "")
        own = (c.get("securityContext") or {}).get("appArmorProfile")
        note = annotations.get(APPARMOR_ANNOTATION_PREFIX + name)
        from_note = _annotation_to_block(note) if note is not None else None
        chosen, source = ((own, "container-field") if own else (pod_field, "pod-field") if pod_field
                          else (from_note, "annotation") if from_note else (None, "none"))
        conflict = None
        if from_note and chosen is not from_note and _normal(from_note) != _normal(chosen):
            conflict = (f"annotation says {note!r} but the {source} says {chosen.get('type')}"
                        f"{' ' + chosen['localhostProfile'] if chosen.get('localhostProfile') else ''}")
        out.append(AppArmorSetting(name, (chosen or {}).get("type"), (chosen or {}).get("localhostProfile"),
                                   source, conflict))
    return out


def _normal(block: dict | None) -> tuple:
    block = block or {}
    return block.get("type"), block.get("localhostProfile")


def apparmor_style(doc: dict) -> str:
    """How the manifest sets AppArmor: ``field``, ``annotation``, ``both`` or ``none``."""
    template = pod_template(doc)
    annotations = (template.get("metadata") or {}).get("annotations") or {}
    uses_annotation = any(k.startswith(APPARMOR_ANNOTATION_PREFIX) for k in annotations)
    pod_field = ((template.get("spec") or {}).get("securityContext") or {}).get("appArmorProfile")
    uses_field = bool(pod_field) or any((c.get("securityContext") or {}).get("appArmorProfile")
                                        for c in containers(doc))
    return {(True, True): "both", (True, False): "field", (False, True): "annotation"}.get(
        (uses_field, uses_annotation), "none")


# --------------------------------------------------------------------------- Pod Security

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
        import html
        colour = "#27ae60" if self.allowed else "#c0392b"
        head = (f"<b>{html.escape(self.kind)} {html.escape(self.name)}</b> "
                f"{'meets' if self.allowed else 'violates'} Pod Security <b>{html.escape(self.level)}</b>")
        items = "".join(f"<li><code>{html.escape(v.path)}</code>: {html.escape(v.message)}"
                        f"<br><i>fix:</i> {html.escape(v.fix)}</li>" for v in self.violations)
        return f'<div style="border-left:4px solid {colour};padding:4px 8px">{head}<ul>{items}</ul></div>'


#: Pod Security "baseline": capabilities a container may add (everything else is refused).
BASELINE_CAPABILITIES = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})
#: Pod Security "baseline" (Kubernetes 1.32+): sysctls a pod may set.
SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"})
#: Pod Security "restricted": the only volume types allowed.
RESTRICTED_VOLUMES = ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image",
                      "persistentVolumeClaim", "projected", "secret")
_SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
_LEVELS = ("baseline", "restricted")


def _check_profile_types(v, security_context: dict, path: str, who: str) -> str | None:
    """Baseline allows only RuntimeDefault or Localhost AppArmor and seccomp profiles, at pod
    and container level alike; returns the seccomp type set here (restricted needs one)."""
    apparmor = security_context.get("appArmorProfile")
    if apparmor and apparmor.get("type") not in ("RuntimeDefault", "Localhost"):
        v("appArmorProfile", "baseline", f"{path}.appArmorProfile.type",
          f"{who} sets AppArmor {apparmor.get('type')}", "use type RuntimeDefault or Localhost")
    seccomp = (security_context.get("seccompProfile") or {}).get("type")
    if seccomp and seccomp not in ("RuntimeDefault", "Localhost"):
        v("seccompProfile", "baseline", f"{path}.seccompProfile.type",
          f"{who} sets seccomp {seccomp}", "use type RuntimeDefault (or Localhost with your profile)")
    return seccomp


def check_pod_security(doc: dict, level: str = "restricted") -> PodSecurityReport:
    """Check a manifest against Pod Security ``baseline`` or ``restricted`` (as enforced by
    the PodSecurity admission controller, version latest) without a cluster."""
    if level not in _LEVELS:
        raise ManifestError(f"unknown Pod Security level {level!r}", fix="use 'baseline' or 'restricted'")
    template = pod_template(doc)
    spec = template.get("spec") or {}
    base = ".".join((*_TEMPLATE_PATH[doc["kind"]], "spec"))
    report = PodSecurityReport(doc["kind"], (doc.get("metadata") or {}).get("name", ""), level)
    add = report.violations.append
    pod_sc = spec.get("securityContext") or {}
    annotations = (template.get("metadata") or {}).get("annotations") or {}
    listed = list(_indexed_containers(doc))
    windows = (spec.get("os") or {}).get("name") == "windows"

    def v(check: str, lvl: str, path: str, message: str, fix: str) -> None:
        add(PodSecurityViolation(check, lvl, path, message, fix))

    # ---- baseline
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key):
            v("hostNamespaces", "baseline", f"{base}.{key}", f"the pod shares the node's {key[4:]} namespace",
              f"remove {key} (or set it to false)")
    if (pod_sc.get("windowsOptions") or {}).get("hostProcess"):
        v("windowsHostProcess", "baseline", f"{base}.securityContext.windowsOptions.hostProcess",
          "the pod asks for a Windows HostProcess", "remove windowsOptions.hostProcess")
    for key, value in (pod_sc.get("seLinuxOptions") or {}).items():
        _selinux(v, f"{base}.securityContext.seLinuxOptions.{key}", key, value)
    for i, sysctl in enumerate(pod_sc.get("sysctls") or []):
        if sysctl.get("name") not in SAFE_SYSCTLS:
            v("sysctls", "baseline", f"{base}.securityContext.sysctls[{i}]",
              f"sysctl {sysctl.get('name')!r} is not in the safe set", "remove this sysctl")
    for i, volume in enumerate(spec.get("volumes") or []):
        kinds = [k for k in volume if k != "name"]
        if level == "restricted":
            bad = [k for k in kinds if k not in RESTRICTED_VOLUMES]
            if bad:
                v("restrictedVolumes", "restricted", f"{base}.volumes[{i}].{bad[0]}",
                  f"volume {volume.get('name')!r} is of type {bad[0]}",
                  f"use one of {', '.join(RESTRICTED_VOLUMES)} (e.g. emptyDir or a configMap)")
        elif "hostPath" in kinds:
            v("hostPathVolumes", "baseline", f"{base}.volumes[{i}].hostPath",
              f"volume {volume.get('name')!r} mounts a path of the node", "use an emptyDir or configMap volume")
    pod_seccomp = _check_profile_types(v, pod_sc, f"{base}.securityContext", "the pod")
    prefix = ".".join(("metadata", "annotations")) if doc["kind"] == "Pod" else ".".join(
        (*_TEMPLATE_PATH[doc["kind"]], "metadata", "annotations"))
    for key in sorted(annotations):
        value = annotations[key]
        if key.startswith(APPARMOR_ANNOTATION_PREFIX) and value and value != "runtime/default" \
                and not value.startswith("localhost/"):
            v("appArmorProfile", "baseline", f"{prefix}[{key}]", f"the annotation sets AppArmor {value!r}",
              "use runtime/default or localhost/<profile> (or the appArmorProfile field)")

    for path, c in listed:
        name = c.get("name")
        sc = c.get("securityContext") or {}
        caps = sc.get("capabilities") or {}
        if sc.get("privileged"):
            v("privileged", "baseline", f"{path}.securityContext.privileged",
              f"container {name!r} is privileged", "remove privileged: true")
        if (sc.get("windowsOptions") or {}).get("hostProcess"):
            v("windowsHostProcess", "baseline", f"{path}.securityContext.windowsOptions.hostProcess",
              f"container {name!r} asks for a Windows HostProcess", "remove windowsOptions.hostProcess")
        if level == "baseline" or windows:
            bad_caps = [cap for cap in caps.get("add") or [] if cap not in BASELINE_CAPABILITIES]
            if bad_caps:
                v("capabilities_baseline", "baseline", f"{path}.securityContext.capabilities.add",
                  f"container {name!r} adds {', '.join(bad_caps)}", f"remove {', '.join(bad_caps)} from capabilities.add")
        for j, port in enumerate(c.get("ports") or []):
            if port.get("hostPort"):
                v("hostPorts", "baseline", f"{path}.ports[{j}].hostPort",
                  f"container {name!r} binds node port {port['hostPort']}",
                  "remove hostPort (reach the pod with kubectl port-forward)")
        if sc.get("procMount") not in (None, "Default"):
            v("procMount", "baseline", f"{path}.securityContext.procMount",
              f"container {name!r} sets procMount {sc['procMount']}", "remove procMount (or set Default)")
        for key, value in (sc.get("seLinuxOptions") or {}).items():
            _selinux(v, f"{path}.securityContext.seLinuxOptions.{key}", key, value)
        seccomp = _check_profile_types(v, sc, f"{path}.securityContext", f"container {name!r}")
        if level == "restricted" and not windows and not seccomp and not pod_seccomp:
            v("seccompProfile", "restricted", f"{path}.securityContext.seccompProfile",
              f"container {name!r} has no seccomp profile (neither it nor the pod sets one)",
              f"set {base}.securityContext.seccompProfile.type: RuntimeDefault (or Localhost)")
        for probe_key in ("livenessProbe", "readinessProbe", "startupProbe"):
            _probe_host(v, f"{path}.{probe_key}", name, c.get(probe_key))
        for hook in ("postStart", "preStop"):
            _probe_host(v, f"{path}.lifecycle.{hook}", name, (c.get("lifecycle") or {}).get(hook))

        if level != "restricted":
            continue
        if not windows:
            if sc.get("allowPrivilegeEscalation") is not False:
                v("allowPrivilegeEscalation", "restricted", f"{path}.securityContext.allowPrivilegeEscalation",
                  f"container {name!r} may gain privileges (setuid binaries, file capabilities)",
                  "set allowPrivilegeEscalation: false")
            if "ALL" not in (caps.get("drop") or []):
                v("capabilities_restricted", "restricted", f"{path}.securityContext.capabilities.drop",
                  f"container {name!r} keeps the runtime's default capabilities", 'set capabilities: {drop: ["ALL"]}')
            bad_caps = [cap for cap in caps.get("add") or [] if cap != "NET_BIND_SERVICE"]
            if bad_caps:
                v("capabilities_restricted", "restricted", f"{path}.securityContext.capabilities.add",
                  f"container {name!r} adds {', '.join(bad_caps)}",
                  "add nothing but NET_BIND_SERVICE (needed only to bind ports below 1024)")
        if sc.get("runAsNonRoot") is False:
            v("runAsNonRoot", "restricted", f"{path}.securityContext.runAsNonRoot",
              f"container {name!r} sets runAsNonRoot: false", "set runAsNonRoot: true")
        elif sc.get("runAsNonRoot") is None and pod_sc.get("runAsNonRoot") is not True:
            v("runAsNonRoot", "restricted", f"{path}.securityContext.runAsNonRoot",
              f"container {name!r} may run as root (neither it nor the pod sets runAsNonRoot: true)",
              f"set {base}.securityContext.runAsNonRoot: true and a non-zero runAsUser (e.g. 65534)")
        if sc.get("runAsUser") == 0:
            v("runAsUser", "restricted", f"{path}.securityContext.runAsUser",
              f"container {name!r} runs as user 0 (root)", "use a non-zero runAsUser (e.g. 65534)")

    if level == "restricted":
        if pod_sc.get("runAsNonRoot") is False:
            v("runAsNonRoot", "restricted", f"{base}.securityContext.runAsNonRoot",
              "the pod sets runAsNonRoot: false", "set runAsNonRoot: true")
        if pod_sc.get("runAsUser") == 0:
            v("runAsUser", "restricted", f"{base}.securityContext.runAsUser",
              "the pod runs as user 0 (root)", "use a non-zero runAsUser (e.g. 65534)")
    return report


def _selinux(v, path: str, key: str, value: Any) -> None:
    if key == "type" and value not in _SELINUX_TYPES:
        v("seLinuxOptions", "baseline", path, f"SELinux type {value!r} is not allowed",
          f"use one of {', '.join(sorted(t for t in _SELINUX_TYPES if t))} or leave it out")
    elif key in ("user", "role") and value:
        v("seLinuxOptions", "baseline", path, f"SELinux {key} may not be set", f"remove seLinuxOptions.{key}")


def _probe_host(v, path: str, container: str, handler: dict | None) -> None:
    for kind in ("httpGet", "tcpSocket"):
        host = ((handler or {}).get(kind) or {}).get("host")
        if host:
            v("hostProbesAndHostLifecycle", "baseline", f"{path}.{kind}.host",
              f"container {container!r} probes host {host!r}", "remove host (probes go to the pod's own IP)")
