"""Making an audit finding in one call, its French next to its English."""

from __future__ import annotations

from typing import Any

from jitsi_sovereign.report.model import FAILED, HIGH, PASSED, SKIPPED, Finding

__all__ = ["FAILED", "PASSED", "SKIPPED", "finding"]


def finding(fid: str, title: str, status: str, *, severity: str = HIGH, reason: str = "",
            fix: str = "", evidence: list[str] | None = None,
            params: dict[str, Any] | None = None, fr: dict[str, str] | None = None) -> Finding:
    """``fid`` is ``<area>.<name>``; ``fr`` holds the French title, reason and fix (a
    reason with technical values left out of ``fr`` falls back to the English one)."""
    texts = {"fr": {k: v for k, v in (fr or {}).items() if v}} if fr else {}
    if status == PASSED:
        reason, fix = "", ""
        if texts:
            texts["fr"].pop("reason", None)
            texts["fr"].pop("fix", None)
    return Finding(fid, fid.split(".", 1)[0], title, status, severity=severity, reason=reason,
                   fix=fix, evidence=list(evidence or []), params=dict(params or {}),
                   texts=texts)
