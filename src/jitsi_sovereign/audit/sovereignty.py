"""Audit area 'sovereignty' (being written: returns no finding yet)."""

from __future__ import annotations

from jitsi_sovereign.audit.context import AuditContext
from jitsi_sovereign.report.model import Finding


def run(ctx: AuditContext) -> list[Finding]:
    return []
