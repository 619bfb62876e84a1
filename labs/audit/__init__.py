"""Seccomp and AppArmor audit records: parse kernel audit text, and capture records live with
the collector container (the kernel log alone loses most of them)."""
from .collector import AuditCollector, collector_command
from .parse import (
    AppArmorRecord,
    AuditLog,
    SeccompRecord,
    exited_driven_records,
    lost_notice,
    parse_audit_line,
    parse_audit_text,
    seccomp_action,
)

__all__ = [
    "AuditCollector",
    "collector_command",
    "AppArmorRecord",
    "AuditLog",
    "SeccompRecord",
    "exited_driven_records",
    "lost_notice",
    "parse_audit_line",
    "parse_audit_text",
    "seccomp_action",
]
