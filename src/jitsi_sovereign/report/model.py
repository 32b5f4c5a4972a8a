"""The report both ``verify`` and ``audit`` produce.

A report is a list of findings. A finding is one promise checked (``title``: what is
promised, in a sentence a DPO reads), its outcome (passed, failed or skipped, never a
pass that did not run), its ``severity`` (a failed high-severity finding makes the exit
status 1), the ``evidence`` seen (technical lines, folded under the finding in HTML) and,
when it failed, the ``fix``. ``reason`` says why a finding failed or was skipped.

Texts are English; ``texts`` carries the other languages where the finding is made,
``{"fr": {"title": ..., "reason": ..., "fix": ...}}`` (a field left out falls back to
English), so that a check's wording lives in one place. The JSON form is
``Report.to_dict()``, validated by ``report/schema/report-v1.json`` (``SCHEMA_VERSION``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
STATUSES = (PASSED, FAILED, SKIPPED)
HIGH, MEDIUM, LOW, INFO = "high", "medium", "low", "info"
SEVERITIES = (HIGH, MEDIUM, LOW, INFO)

# The areas of an audit, in the order a report shows them. verify's areas are its
# check modules (ssh, firewall, tls, ...), shown after these in the order they ran.
AUDIT_AREAS = ("tls", "http", "sovereignty", "access", "network", "turn")


@dataclass
class Finding:
    id: str  # stable and dotted, e.g. "http.hsts" or "verify:ssh.option[PasswordAuthentication]"
    area: str
    title: str  # the promise, e.g. "Browsers are told to use HTTPS only (HSTS)"
    status: str  # passed | failed | skipped
    severity: str = HIGH
    reason: str = ""  # why it failed or was skipped ("" when passed)
    fix: str = ""  # what to do when it failed
    evidence: list[str] = field(default_factory=list)  # what was seen (technical)
    params: dict[str, Any] = field(default_factory=dict)  # the values measured, for JSON readers
    texts: dict[str, dict[str, str]] = field(default_factory=dict)  # {"fr": {"title": ...}}
    host: str = ""  # verify: the inventory host; audit: the audited name
    duration: float = 0.0

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"finding {self.id}: status {self.status!r} not in {STATUSES}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"finding {self.id}: severity {self.severity!r} not in {SEVERITIES}")
        if self.status != PASSED and not self.reason:
            raise ValueError(f"finding {self.id}: a {self.status} finding needs its reason")

    def text(self, name: str, lang: str = "en") -> str:
        """``title``, ``reason`` or ``fix`` in ``lang``, English where not translated."""
        return self.texts.get(lang, {}).get(name) or getattr(self, name)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["duration"] = round(self.duration, 3)
        return d


@dataclass
class Report:
    kind: str  # "audit" | "verify"
    target: str  # audit: the URL; verify: the inventory path
    findings: list[Finding] = field(default_factory=list)
    # Declared in the inventory (jitsi_sovereign_hosting): provider, region, country,
    # jurisdiction, ... shown as given; None when not declared (audit: never known).
    hosting: dict[str, Any] | None = None
    # What personal data the server keeps and for how long: a list of
    # {"data", "where", "retention", "evidence"}; None when it cannot be known (audit).
    personal_data: list[dict[str, Any]] | None = None
    # Set when the run could not happen at all (exit status 2): the message, with its fix.
    error: str | None = None
    # What was reached, per host: verify {name: {address, duration, connection_error, ssh}},
    # audit {name: {address, port, connect_to}}.
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)
    started: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    duration: float = 0.0
    tool_version: str = ""

    def counts(self, area: str | None = None) -> dict[str, int]:
        found = [f for f in self.findings if area is None or f.area == area]
        return {s: sum(1 for f in found if f.status == s) for s in STATUSES}

    def areas(self) -> list[str]:
        """The areas present, audit's first in their order, then the others as met."""
        seen = list(dict.fromkeys(f.area for f in self.findings))
        return [a for a in AUDIT_AREAS if a in seen] + [a for a in seen if a not in AUDIT_AREAS]

    @property
    def exit_code(self) -> int:
        """2: the run could not happen; 1: a high-severity finding failed (or nothing
        was checked at all); 0: every high-severity finding holds."""
        if self.error:
            return 2
        if not self.findings:
            return 1
        return 1 if any(f.status == FAILED and f.severity == HIGH for f in self.findings) else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": self.kind,
            "target": self.target,
            "tool_version": self.tool_version,
            "started": self.started,
            "duration": round(self.duration, 3),
            "error": self.error,
            "exit_code": self.exit_code,
            "hosts": self.hosts,
            "summary": {"total": self.counts(), "areas": {a: self.counts(a) for a in self.areas()}},
            "hosting": self.hosting,
            "personal_data": self.personal_data,
            "findings": [f.as_dict() for f in self.findings],
        }

    def write_json(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n")
