"""Making an audit finding in one call, its French next to its English."""

from __future__ import annotations

from typing import Any

from jitsi_sovereign.report.model import FAILED, HIGH, PASSED, SKIPPED, Finding

__all__ = ["FAILED", "PASSED", "SKIPPED", "finding", "from_table"]


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


def from_table(area: str, table: dict[str, dict[str, str]], key: str, status: str,
               severity: str, *, reason: str = "", reason_fr: str = "",
               evidence: list[str] | None = None,
               params: dict[str, Any] | None = None) -> Finding:
    """A finding whose texts stand in an area's table, ``table[key]`` = {title, fr, fix,
    fr_fix}: the fix (English, and French when the table has one) only when it failed;
    ``reason``/``reason_fr`` as given (access and turn)."""
    t = table[key]
    fr = {"title": t["fr"]}
    if status == FAILED and t["fr_fix"]:
        fr["fix"] = t["fr_fix"]
    if reason_fr:
        fr["reason"] = reason_fr
    return Finding(f"{area}.{key}", area, t["title"], status, severity, reason=reason,
                   fix=t["fix"] if status == FAILED else "", evidence=evidence or [],
                   params=params or {}, texts={"fr": fr})
