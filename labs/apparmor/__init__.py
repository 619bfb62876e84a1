"""AppArmor for the course: check profiles, load them on nodes, turn audit records into rules.

- :mod:`.policy`: what a profile from outside the course may contain before it is loaded (pure)
- :mod:`.statements`: a profile's text split into rules and blocks as apparmor_parser reads it (pure)
- :mod:`.syntax`: ``check_profile_syntax`` with the real apparmor_parser (parse only)
- :mod:`.signals`: whether the container runtime can stop a confined process (pure)
- :mod:`.nodes`: load/unload profiles on kind nodes (or this machine), support probes
- :mod:`.rules`: complain-mode records -> rules and whole profiles (pure)
- :mod:`.recording`: several complain-mode runs -> one profile, why each rule is there (pure)
- :mod:`.explain`: one record -> sentence, rule, caution (pure)
- :mod:`.catalog`: the profiles the course ships, by name
- :mod:`.vm`: the QEMU guest with the AppArmor LSM used by the verification lane
- :mod:`.vm_network`, :mod:`.tcp_relay`: the guest's restricted user network and its relay to the host
"""
from .catalog import PROFILES_DIR, shipped_profile, shipped_profiles
from .explain import AppArmorDenialExplanation, caution_for_rule, explain_apparmor_denial
from .nodes import (
    AppArmorSupport,
    apparmor_support,
    load_profile_here,
    load_profile_on_nodes,
    loaded_profiles,
    unload_profile_here,
    unload_profile_on_nodes,
)
from .policy import SYSTEM_PROFILE_NAMES, profile_safety_problems, require_safe_profile
from .recording import AppArmorRecording, AppArmorRun, RuleProvenance, load_apparmor_recording
from .rules import profile_from_records, record_rule, rules_from_records, unhandled_records
from .signals import RUNC_SIGNAL_RULE, RUNTIME_SIGNAL_RULE, runtime_signal_problem
from .syntax import check_profile_syntax, profile_names

__all__ = [
    "check_profile_syntax",
    "profile_names",
    "profile_safety_problems",
    "require_safe_profile",
    "SYSTEM_PROFILE_NAMES",
    "runtime_signal_problem",
    "RUNTIME_SIGNAL_RULE",
    "RUNC_SIGNAL_RULE",
    "load_profile_on_nodes",
    "unload_profile_on_nodes",
    "load_profile_here",
    "unload_profile_here",
    "apparmor_support",
    "loaded_profiles",
    "AppArmorSupport",
    "rules_from_records",
    "record_rule",
    "unhandled_records",
    "profile_from_records",
    "AppArmorRecording",
    "AppArmorRun",
    "RuleProvenance",
    "load_apparmor_recording",
    "explain_apparmor_denial",
    "AppArmorDenialExplanation",
    "caution_for_rule",
    "PROFILES_DIR",
    "shipped_profiles",
    "shipped_profile",
]
