"""A report as ONE self-contained HTML page, in French or English, for a DPO.

No external asset, no script, no web font, no image URL: the CSS is inline, the page reads
the same offline, in a mail attachment or printed on A4 (print CSS: the evidence folded
under each finding on screen is printed unfolded). Autoescaping is on: findings carry text
the audited server chose (headers, config.js values).

Top to bottom: what the server promises and the verdict; one row per area (its promise,
a mark and a word, the counts); what does not hold, with what to do; the findings of each
area, evidence folded (``<details>``); the hosting facts declared; the personal data kept.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2

from jitsi_sovereign.report.model import FAILED, PASSED, SEVERITIES, SKIPPED, Finding, Report
from jitsi_sovereign.report.terminal import area_status, failed_in_order
from jitsi_sovereign.report.texts import (
    HOSTING_FIELDS,
    area_name,
    area_promise,
    summary,
    ui,
)

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("jitsi_sovereign.report", "templates"),
    autoescape=True,  # every value is escaped: findings hold server-provided text
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_STATUS_ORDER = {FAILED: 0, SKIPPED: 1, PASSED: 2}


def _text(f: Finding | dict, name: str, lang: str) -> dict[str, Any]:
    """``{"text": ..., "lang": None | "en"}``: lang is set when the text falls back to
    English in a French page (screen readers then read it as English)."""
    if isinstance(f, Finding):
        own = f.texts.get(lang, {}).get(name)
        value = own or getattr(f, name)
    else:
        own = (f.get("texts") or {}).get(lang, {}).get(name)
        value = own or f.get(name, "")
    return {"text": value, "lang": None if own or lang == "en" or not value else "en"}


def _finding(f: Finding, lang: str, t: dict[str, str], many_hosts: bool,
             anchor: str) -> dict[str, Any]:
    return {
        "id": f.id,
        "anchor": anchor,
        "status": f.status,
        "mark": t[f"mark_{f.status}"],
        "severity": t.get(f"sev_{f.severity}", f.severity),
        "title": _text(f, "title", lang),
        "reason": _text(f, "reason", lang),
        "fix": _text(f, "fix", lang),
        "evidence": list(f.evidence),
        "host": f.host if many_hosts else "",
    }


def _hosting(report: Report) -> list[dict[str, Any]] | None:
    """[{host, rows: [(field, value)]}] or None when nothing is declared."""
    h = report.hosting
    if not h:
        return None
    per = h["per_host"] if isinstance(h, dict) and "per_host" in h else {"": h}
    out = []
    for host, facts in per.items():
        facts = facts or {}
        keys = [k for k in HOSTING_FIELDS if k in facts] + [k for k in facts
                                                            if k not in HOSTING_FIELDS]
        out.append({"host": host, "rows": [(k, facts[k]) for k in keys if facts[k]]})
    return out


_MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"),
}


def when(started: str, lang: str) -> str:
    """``2026-12-05T03:15:49+00:00`` -> "5 décembre 2026 à 03:15 UTC" / "5 December 2026,
    03:15 UTC"; the text as given when it is not an ISO date."""
    try:
        moment = datetime.fromisoformat(started).astimezone(UTC)
    except ValueError:
        return started
    month = _MONTHS.get(lang, _MONTHS["en"])[moment.month - 1]
    sep = " à" if lang == "fr" else ","
    return f"{moment.day} {month} {moment.year}{sep} {moment:%H:%M} UTC"


def reached(report: Report, t: dict[str, str]) -> list[str]:
    """How each host was reached, in words: "meet1 (198.51.100.11)" or, for an audit,
    "198.51.100.11, port 443 (--connect-to)"."""
    out = []
    for name, info in report.hosts.items():
        address = info.get("address", "?")
        if report.kind == "audit":
            text = f"{address}, {t['port']} {info.get('port', '?')}"
            if info.get("connect_to"):
                text += f" ({t['connect_to']})"
        else:
            text = f"{name} ({address})"
            if info.get("connection_error"):
                text += f"; {t['connection_error']}{t['colon']} {info['connection_error']}"
        out.append(text)
    return out


def context(report: Report, lang: str = "en") -> dict[str, Any]:
    t = ui(lang)
    many = len({f.host for f in report.findings}) > 1
    # One HTML id per finding, unique even if two findings share an id and a host.
    anchors = {id(f): f"f{i}-" + "".join(c if c.isalnum() else "-" for c in f.id)
               for i, f in enumerate(report.findings)}
    areas = []
    for area in report.areas():
        c = report.counts(area)
        status = area_status(c)
        found = sorted((f for f in report.findings if f.area == area),
                       key=lambda f: (_STATUS_ORDER[f.status], SEVERITIES.index(f.severity)))
        areas.append({
            "id": area, "anchor": "area-" + "".join(c if c.isalnum() else "-" for c in area),
            "name": area_name(area, lang, report.kind),
            "promise": area_promise(area, lang, report.kind), "status": status,
            "mark": t[f"mark_{status}"], "counts": c,
            "findings": [_finding(f, lang, t, many, anchors[id(f)]) for f in found],
        })
    total = report.counts()
    if report.error:
        verdict, verdict_status = t["verdict_error"].format(error=report.error), FAILED
    elif not report.findings:
        verdict, verdict_status = t["verdict_empty"], FAILED
    elif report.exit_code == 0:
        verdict, verdict_status = t["verdict_ok"], PASSED
    else:
        verdict, verdict_status = t["verdict_failed"], FAILED
    personal = None
    if report.personal_data is not None:
        personal = [{"host": p.get("host", "") if many else "",
                     "data": _text(p, "data", lang), "where": _text(p, "where", lang),
                     "retention": _text(p, "retention", lang),
                     "evidence": list(p.get("evidence") or [])}
                    for p in report.personal_data]
    shown_target = report.target
    if report.kind == "verify" and report.hosts:
        shown_target = ", ".join(report.hosts)
    return {
        "t": t, "lang": lang, "kind": report.kind, "target": report.target,
        "title": t[f"title_{report.kind}"].format(target=shown_target),
        "intro": t[f"intro_{report.kind}"],
        "verdict": verdict, "verdict_status": verdict_status,
        "verdict_mark": t["mark_error"] if report.error else t[f"mark_{verdict_status}"],
        "summary": summary(total[PASSED], total[FAILED], total[SKIPPED], lang),
        "areas": areas,
        "failed": [_finding(f, lang, t, many, anchors[id(f)]) for f in failed_in_order(report)],
        "hosting": _hosting(report), "hosting_fields": {k: t.get(f"field_{k}", k)
                                                        for k in HOSTING_FIELDS},
        "personal": personal,
        "generated": t["generated"].format(version=report.tool_version or "?",
                                           started=when(report.started, lang),
                                           duration=f"{report.duration:.1f}"),
        "error": report.error,
        "reached": reached(report, t),
    }


def render(report: Report, lang: str = "en") -> str:
    return _ENV.get_template("report.html.j2").render(context(report, lang))


def write(report: Report, path: Path, lang: str = "en") -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(report, lang), encoding="utf-8")
