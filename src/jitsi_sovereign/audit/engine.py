"""Run every area of an audit, each bounded and isolated: an area that breaks becomes a
failed finding with its error, never a stack trace, and the other areas still run."""

from __future__ import annotations

import importlib
import time

from jitsi_sovereign import __version__
from jitsi_sovereign.audit.context import AuditContext
from jitsi_sovereign.report.model import AUDIT_AREAS, FAILED, Finding, Report

# Each area is the module jitsi_sovereign.audit.<area> with run(ctx) -> list[Finding].
AREAS = AUDIT_AREAS


def run(ctx: AuditContext) -> Report:
    start = time.monotonic()
    report = Report(kind="audit", target=ctx.target.url, tool_version=__version__)
    for area in AREAS:
        module = importlib.import_module(f"jitsi_sovereign.audit.{area}")
        t0 = time.monotonic()
        try:
            findings = module.run(ctx)
        except Exception as exc:  # one broken area must not hide the others
            findings = [Finding(f"{area}.run", area, f"The {area} checks ran", FAILED,
                                reason=f"the {area} checks stopped: {type(exc).__name__}: {exc}",
                                fix="report this to jitsi-sovereign with the command line",
                                host=ctx.target.name)]
        for f in findings:
            f.host = f.host or ctx.target.name
            f.duration = f.duration or (time.monotonic() - t0) / max(len(findings), 1)
        report.findings.extend(findings)
    report.duration = time.monotonic() - start
    return report
