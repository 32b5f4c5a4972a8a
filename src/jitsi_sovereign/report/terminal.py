"""A report's summary for a terminal: what a person reads first.

    audit https://meet.example.fr/: FAILED                       <- verdict
    ✗ Web site protections     3 passed  1 failed  0 not checked <- one line per area
    ✓ Encryption (TLS)         7 passed  0 failed  1 not checked
    ...
    What does not hold                                           <- failed, high first
      ✗ [high] http.hsts  Browsers are told to use HTTPS only (HSTS)
          Why: no Strict-Transport-Security header
          What to do: add the header ...
    Not checked                                                  <- skipped, one line each
      ○ access.guest_room: needs Jitsi's own prosody modules

Every status is a mark and a word (never colour alone); the texts are the finding's own
in the chosen language (``Finding.text``), English where not translated.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from jitsi_sovereign.report.model import FAILED, PASSED, SEVERITIES, SKIPPED, Finding, Report
from jitsi_sovereign.report.texts import area_name, summary, ui

MARKS = {PASSED: ("✓", "green"), FAILED: ("✗", "bold red"), SKIPPED: ("○", "yellow")}


def area_status(counts: dict[str, int]) -> str:
    """An area fails with one failure, is skipped when nothing in it ran, else passes."""
    if counts[FAILED]:
        return FAILED
    if counts[PASSED] == 0 and counts[SKIPPED]:
        return SKIPPED
    return PASSED


def failed_in_order(report: Report) -> list[Finding]:
    """Failed findings, high severity first, then in the order they ran."""
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    failed = [f for f in report.findings if f.status == FAILED]
    return sorted(failed, key=lambda f: rank.get(f.severity, len(rank)))


def _label(f: Finding, many_hosts: bool) -> str:
    return f"{f.host}: {f.id}" if many_hosts and f.host else f.id


def print_report(console: Console, report: Report, lang: str = "en") -> None:
    t = ui(lang)
    total = report.counts()
    if report.error:
        verdict = f"[bold red]{escape(t['verdict_error'].format(error=report.error))}[/]"
    elif report.exit_code == 0:
        verdict = f"[bold green]OK[/]: {escape(t['verdict_ok'])}"
    elif not report.findings:
        verdict = f"[bold red]FAILED[/]: {escape(t['verdict_empty'])}"
    else:
        verdict = f"[bold red]FAILED[/]: {escape(t['verdict_failed'])}"
    console.print(f"[bold]{report.kind} {escape(report.target)}[/]  {verdict}", soft_wrap=True)
    if not report.findings:
        return
    table = Table(box=None, show_header=True, pad_edge=False, header_style="bold")
    table.add_column("")
    table.add_column(t["area"], overflow="fold")
    for status in (PASSED, FAILED, SKIPPED):
        table.add_column(t[status], justify="right")
    for area in report.areas():
        c = report.counts(area)
        status = area_status(c)
        mark, style = MARKS[status]
        table.add_row(f"[{style}]{mark}[/]", escape(area_name(area, lang, report.kind)),
                      str(c[PASSED]), f"[bold red]{c[FAILED]}[/]" if c[FAILED] else "0",
                      str(c[SKIPPED]), style="bold red" if status == FAILED else None)
    console.print(table)
    console.print(summary(total[PASSED], total[FAILED], total[SKIPPED], lang)
                  + f" ({report.duration:.1f} s)", highlight=False)
    many = len({f.host for f in report.findings}) > 1
    failed = failed_in_order(report)
    if failed:
        console.print()
        console.print(f"[bold red]{escape(t['failures'])}[/]")
        for f in failed:
            sev = t.get(f"sev_{f.severity}", f.severity)
            console.print(f"  [bold red]✗ {escape(t['failed'])}[/] {escape(f'[{sev}]')} "
                          f"[bold]{escape(_label(f, many))}[/]  {escape(f.text('title', lang))}",
                          highlight=False)
            console.print(f"      {escape(t['reason'] + t['colon'])} "
                          f"{escape(f.text('reason', lang))}",
                          highlight=False)
            fix = f.text("fix", lang)
            if fix:
                console.print(f"      [green]{escape(t['fix'] + t['colon'])}[/] {escape(fix)}",
                              highlight=False)
    skipped = [f for f in report.findings if f.status == SKIPPED]
    if skipped:
        console.print()
        console.print(f"[yellow]{escape(t['skips'])}[/]")
        for f in skipped:
            console.print(f"  [yellow]○[/] {escape(_label(f, many))}: "
                          f"{escape(f.text('reason', lang))}", highlight=False)
