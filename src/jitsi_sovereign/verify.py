"""Run the shipped checks against every host of an inventory and report.

One in-process pytest session per host, on ``jitsi_sovereign/checks``: the inside
checks read the host through one SSH connection (testinfra, paramiko backend, host
key verified against the inventory's known_hosts), the outside checks probe its
address from here. A plugin collects every check's outcome (passed, failed, skipped)
with its reason; the result is printed as one section per host (see ``print_host``),
optionally written as JSON, and ``failed`` decides the exit status.
"""

from __future__ import annotations

import contextlib
import os
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from jitsi_sovereign import __version__, paths
from jitsi_sovereign.checks.helpers import TARGET_KEY
from jitsi_sovereign.inventory import HOSTING_VAR, LAB_PASSWORD_VAR
from jitsi_sovereign.report import model
from jitsi_sovereign.report.model import FAILED, PASSED, SKIPPED


@dataclass
class CheckResult:
    host: str
    check: str  # e.g. "ssh.option[PasswordAuthentication]"
    title: str  # what the check verifies (its docstring's first line)
    status: str  # passed | failed | skipped
    reason: str = ""  # why it failed or was skipped
    duration: float = 0.0
    # What the check measured, passed or not (its record_property("evidence", text)).
    evidence: list[str] = field(default_factory=list)


@dataclass
class Report:
    results: list[CheckResult] = field(default_factory=list)
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)
    duration: float = 0.0
    target: str = ""  # the inventory path
    # Per host: the declared hosting facts (jitsi_sovereign_hosting, None when not
    # declared) and the personal data it keeps (report.personal).
    hosting: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    personal_data: list[dict[str, Any]] = field(default_factory=list)
    started: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def _count(self, status: str, host: str | None = None) -> int:
        return sum(1 for r in self.results
                   if r.status == status and (host is None or r.host == host))

    @property
    def passed(self) -> int:
        return self._count(PASSED)

    @property
    def failed(self) -> int:
        return self._count(FAILED)

    @property
    def skipped(self) -> int:
        return self._count(SKIPPED)

    @property
    def exit_code(self) -> int:
        """0 when nothing failed and at least one check ran, else 1."""
        return 1 if self.failed or not self.results else 0

    def counts(self, host: str) -> dict[str, int]:
        return {s: self._count(s, host) for s in (PASSED, FAILED, SKIPPED)}

    def to_report(self) -> model.Report:
        """The report both commands share (schema report-v1): one finding per check,
        every one of high severity, so that its exit status stays verify's (1 on any
        failure, or when nothing ran)."""
        return model.Report(
            kind="verify", target=self.target,
            findings=[to_finding(r, self.hosts.get(r.host, {})) for r in self.results],
            hosting=combine_hosting(self.hosting), personal_data=list(self.personal_data),
            hosts={name: dict(info) for name, info in self.hosts.items()},
            started=self.started, duration=self.duration, tool_version=__version__)

    def to_dict(self) -> dict[str, Any]:
        return self.to_report().to_dict()

    def write_json(self, path: Path) -> None:
        self.to_report().write_json(path)


def to_finding(r: CheckResult, host_info: dict[str, Any] | None = None) -> model.Finding:
    """A check's outcome as a report finding: area = its check module, id "verify:<check>"."""
    area, _ = split_check(r.check)
    where = r.host + (f" ({host_info['address']})" if host_info and host_info.get("address")
                      else "")
    evidence = [f"check {r.check} on {where}", *r.evidence]  # the reason is the finding's own
    return model.Finding(
        id=f"verify:{r.check}", area=area, title=r.title, status=r.status,
        severity=model.HIGH,
        reason=r.reason or ("" if r.status == PASSED else "no reason given"),
        evidence=evidence, host=r.host, duration=r.duration)


def combine_hosting(per_host: dict[str, dict[str, Any] | None]) -> dict[str, Any] | None:
    """One mapping when every host declares the same facts (None: none declared),
    else ``{"per_host": {host: facts}}``."""
    values = list(per_host.values())
    if not values or all(v is None for v in values):
        return None
    if all(v == values[0] for v in values):
        return dict(values[0])
    return {"per_host": {h: (dict(v) if v else None) for h, v in per_host.items()}}


# ------------------------------------------------------------------ pytest plugin


def check_id(module: str, function: str, param_id: str | None) -> str:
    """``jitsi_sovereign.checks.test_ssh``, ``test_option``, ``X`` -> ``ssh.option[X]``."""
    area = module.rsplit(".", 1)[-1].removeprefix("test_")
    name = function.removeprefix("test_")
    return f"{area}.{name}" + (f"[{param_id}]" if param_id else "")


def failure_message(excinfo: pytest.ExceptionInfo) -> str:
    """The message a person needs: the assertion's own text, not pytest's rewrite."""
    exc = excinfo.value
    if isinstance(exc, pytest.fail.Exception | pytest.skip.Exception):
        return str(exc.msg)
    if isinstance(exc, AssertionError):
        text = str(exc)
        # Rewritten asserts: "<message>\nassert <expression>..." - keep the message.
        head, sep, _ = text.partition("\nassert ")
        if sep and head.strip():
            return head.strip()
        return text.strip().splitlines()[0] if text.strip() else "assertion failed"
    return f"{type(exc).__name__}: {exc}".strip()


class ResultCollector:
    """Collects each check's outcome in one pytest session (one host)."""

    def __init__(self, host: str, target: Any = None) -> None:
        self.host = host
        self.target = target  # handed to the checks through config.stash
        self.results: list[CheckResult] = []
        self._meta: dict[str, tuple[str, str]] = {}
        self._messages: dict[tuple[str, str], str] = {}
        self._phases: dict[str, list[Any]] = {}

    # pytest hooks ------------------------------------------------------------

    def pytest_configure(self, config: pytest.Config) -> None:
        if self.target is not None:
            config.stash[TARGET_KEY] = self.target

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            function = getattr(item, "function", None)
            doc = (getattr(function, "__doc__", None) or "").strip().splitlines()
            callspec = getattr(item, "callspec", None)
            module = getattr(item, "module", None)
            cid = check_id(module.__name__ if module else item.nodeid,
                           getattr(item, "originalname", item.name),
                           callspec.id if callspec else None)
            title = doc[0].rstrip(".") if doc else cid
            if callspec:
                title = f"{title} ({callspec.id})"
            self._meta[item.nodeid] = (cid, title)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.results.append(CheckResult(
                self.host, f"collect:{report.nodeid or 'checks'}", "load the checks", FAILED,
                _short(str(report.longrepr))))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        outcome = yield
        if call.excinfo is not None:
            self._messages[(item.nodeid, call.when)] = failure_message(call.excinfo)
        return outcome

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self._phases.setdefault(report.nodeid, []).append(report)

    def pytest_runtest_logfinish(self, nodeid: str, location) -> None:
        reports = self._phases.pop(nodeid, [])
        cid, title = self._meta.get(nodeid, (nodeid, nodeid))
        status, reason = PASSED, ""
        for rep in reports:
            message = self._messages.get((nodeid, rep.when), "")
            if rep.failed:
                status = FAILED
                prefix = "" if rep.when == "call" else f"[{rep.when}] "
                reason = reason or prefix + (message or _short(str(rep.longrepr)))
            elif rep.skipped and status != FAILED:
                status = SKIPPED
                reason = message or _skip_reason(rep)
        # Every phase's report carries the item's properties: each once.
        measured = list(dict.fromkeys(str(value) for rep in reports
                                      for key, value in rep.user_properties
                                      if key == "evidence"))
        self.results.append(CheckResult(self.host, cid, title, status, reason,
                                        sum(r.duration for r in reports), measured))

    # after the session -------------------------------------------------------

    def finish(self, exit_code: int | pytest.ExitCode) -> None:
        """A session that crashed or collected nothing is a failure, never a pass."""
        code = int(exit_code)
        if code in (2, 3, 4):
            self.results.append(CheckResult(
                self.host, "verify.session", "run the checks", FAILED,
                f"pytest stopped with exit code {code} ({pytest.ExitCode(code).name})"))
        elif not self.results:
            self.results.append(CheckResult(self.host, "verify.session", "run the checks",
                                            FAILED, "no check was collected"))


def _short(text: str, limit: int = 400) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    last = lines[-1].strip() if lines else "unknown error"
    return last if len(last) <= limit else last[: limit - 1] + "…"


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


# ------------------------------------------------------------------ running


def pytest_args(checks_dir: Path, extra: list[str] | None = None) -> list[str]:
    """Arguments of the in-process session: isolated from any project's pytest config."""
    return [
        str(checks_dir),
        "-c", os.devnull,  # no pytest.ini/pyproject/tox.ini of the caller
        f"--rootdir={checks_dir}",
        f"--confcutdir={checks_dir}",  # no conftest.py above the checks
        "--import-mode=importlib",
        "-p", "no:terminal",  # the report is ours
        "-p", "no:cacheprovider",  # never write .pytest_cache into the package
        "-p", "no:stepwise",
        "--continue-on-collection-errors",  # one broken module must not hide the others
        *(extra or []),
    ]


@contextlib.contextmanager
def _isolated_env() -> Iterator[None]:
    """No PYTEST_ADDOPTS, no third-party plugin autoloaded (xdist, randomly...)."""
    saved = {k: os.environ.get(k) for k in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS",
                                            "PYTEST_DISABLE_PLUGIN_AUTOLOAD")}
    os.environ.pop("PYTEST_ADDOPTS", None)
    os.environ.pop("PYTEST_PLUGINS", None)
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_session(collector: ResultCollector, checks_dir: Path | None = None,
                extra_args: list[str] | None = None) -> int:
    """One pytest session over the checks with ``collector`` as plugin; its exit code."""
    checks_dir = Path(checks_dir or paths.CHECKS_DIR)
    with _isolated_env():
        code = pytest.main(pytest_args(checks_dir, extra_args), plugins=[collector])
    collector.finish(code)
    return int(code)


def lab_password(spec: Any) -> str | None:
    """The lab-only password of a host: its inventory variable ``jitsi_sovereign_lab_password``.

    Only the lab's inventory sets it (a file lookup in the lab's directory, read by the
    inventory loader), so a real server never gets a lab password tried against it.
    """
    value = (spec.vars or {}).get(LAB_PASSWORD_VAR)
    return str(value) if value else None


def hosting_facts(spec: Any) -> dict[str, str] | None:
    """The host's declared ``jitsi_sovereign_hosting`` as text (None: not declared)."""
    facts = (spec.vars or {}).get(HOSTING_VAR) or {}
    out = {str(k): str(v) for k, v in facts.items() if v not in (None, "")}
    return out or None


def host_personal_data(target: Any) -> list[dict[str, Any]]:
    """What the host keeps about people (report.personal), read over the checks' own
    connection (the state files are cached there); never raises."""
    from jitsi_sovereign.report import personal

    if target.connection_error:
        return [{"id": "unknown", "host": target.name, "data": "Personal data kept",
                 "where": "unknown", "retention": "not read: the SSH connection failed",
                 "evidence": [target.connection_error],
                 "texts": {"fr": {"data": "Données personnelles conservées", "where": "inconnu",
                                  "retention": "non relevé : la connexion SSH a échoué"}}}]
    try:
        return personal.read(target)
    except Exception as exc:  # a report must come out whatever the host says
        return [{"id": "unknown", "host": target.name, "data": "Personal data kept",
                 "where": "unknown", "retention": f"not read: {type(exc).__name__}: {exc}",
                 "evidence": [], "texts": {"fr": {
                     "data": "Données personnelles conservées", "where": "inconnu",
                     "retention": f"non relevé : {type(exc).__name__}: {exc}"}}}]


def run_verify(inv: Any, *, json_path: Path | None = None, console: Console | None = None,
               password_lookup: Callable[[Any], str | None] | None = None,
               connect_timeout: float = 10.0, html_path: Path | None = None,
               lang: str = "en") -> Report:
    """Verify every host of ``inv``; print a section per host; write JSON (schema
    report-v1) and the HTML report (in ``lang``) if asked."""
    from jitsi_sovereign.checks.target import Target

    console = console or Console()
    lookup = password_lookup or lab_password
    report = Report(target=str(inv.path))
    start = time.monotonic()
    for spec in inv.hosts:
        host_start = time.monotonic()
        target = Target(spec, connect_timeout=connect_timeout, password=lookup(spec))
        collector = ResultCollector(spec.name, target)
        try:
            run_session(collector)
            report.personal_data.extend(host_personal_data(target))
        finally:
            target.close()
        report.results.extend(collector.results)
        report.hosting[spec.name] = hosting_facts(spec)
        report.hosts[spec.name] = {
            "address": spec.address,
            "duration": round(time.monotonic() - host_start, 3),
            "connection_error": target.connection_error,
        }
        if target.route.through:  # reached as deploy reaches it: through jump hosts...
            report.hosts[spec.name]["ssh"] = target.route.through
        print_host(console, report, spec.name)
    report.duration = time.monotonic() - start
    print_summary(console, report)
    write_outputs(report, console, json_path=json_path, html_path=html_path, lang=lang)
    return report


def write_outputs(report: Report, console: Console, *, json_path: Path | None = None,
                  html_path: Path | None = None, lang: str = "en") -> None:
    if json_path is None and html_path is None:
        return
    shared = report.to_report()
    if json_path is not None:
        shared.write_json(json_path)
        console.print(f"report written to {escape(str(json_path))}")
    if html_path is not None:
        from jitsi_sovereign.report import html

        html.write(shared, html_path, lang=lang)
        console.print(f"HTML report ({lang}) written to {escape(str(html_path))}")


# ------------------------------------------------------------------ display
#
# One section per host, laid out line by line (no table around ~330 checks, whose
# names a table column would cut anywhere):
#
#   meet1 (198.51.100.11) ──────────────────────────────
#   area          passed   failed   skipped
#   ───────────────────────────────────────
#   ssh               11        1         0      <- an area with a failure: bold red
#
#   ssh  1 FAILED
#     FAILED  option[X11Forwarding]              <- failed checks first in their area
#               X11Forwarding is yes, wants no   <- reason, under the name
#     passed  option[PasswordAuthentication]
#
#   meet1: 1 failed check                        <- recap, right above the summary
#     FAILED  ssh.option[X11Forwarding]
#               X11Forwarding is yes, wants no
#   meet1: 11 passed, 1 failed, 0 skipped in 9.8 s

_STYLE = {PASSED: ("passed", "green"), FAILED: ("FAILED", "bold red"),
          SKIPPED: ("skipped", "yellow")}
WIDE = 120  # from this console width on, titles are shown too
STATUS_WIDTH = 7  # len("skipped"): the status words line up
CHECK_MARGIN = 2  # a check line starts under its area heading, indented
NAME_COLUMN = CHECK_MARGIN + STATUS_WIDTH + 1  # where a check's name starts
NAME_INDENT = 4  # continuation of a name too long for one line, under the name
TEXT_INDENT = 2  # reason and title lines, under the name
TITLE_GAP = 2  # between a passed check's name and its title (wide console)
TITLE_ALIGN = 40  # titles line up after names up to this wide (wide console)

# A check name may be broken after these characters, or before "]", nowhere else
# (unless one piece alone is wider than the line).
_BREAK_AFTER = frozenset("._-/,[:=")
_BREAK_BEFORE = frozenset("]")


def split_check(check: str) -> tuple[str, str]:
    """A check id's area and the rest: ``ssh.option[X]`` -> ``("ssh", "option[X]")``.

    The area is the part before the first "." (outside any "[...]" parameter); a
    collection error ``collect:<path>`` is area ``collect``; an id without an area
    is shown whole under ``other``.
    """
    if check.startswith("collect:"):
        return "collect", check.removeprefix("collect:")
    area, dot, _ = check.split("[", 1)[0].partition(".")
    rest = check[len(area) + 1:]
    if dot and area and rest:
        return area, rest
    return "other", check


def _name_segments(name: str) -> list[str]:
    """``a.b[c_d]`` -> ``["a.", "b[", "c_", "d", "]"]``: the pieces a line may end after."""
    segments: list[str] = []
    start = 0
    for i, ch in enumerate(name):
        if ch in _BREAK_BEFORE and i > start:
            segments.append(name[start:i])
            start = i
        if ch in _BREAK_AFTER:
            segments.append(name[start:i + 1])
            start = i + 1
    if start < len(name):
        segments.append(name[start:])
    return segments


def _cut_cells(text: str, width: int) -> tuple[str, str]:
    """The first ``width`` cells of ``text`` (at least one character) and the rest."""
    used = 0
    for i, ch in enumerate(text):
        used += cell_len(ch)
        if used > width:
            i = max(i, 1)
            return text[:i], text[i:]
    return text, ""


def wrap_check_name(name: str, width: int, indent: int = NAME_INDENT) -> list[str]:
    """``name`` as lines of at most ``width`` cells, broken only at separators.

    A name that fits stays whole. Otherwise each line holds as many pieces as fit,
    breaking after ``. _ - / , [ : =`` or before ``]``; the continuation lines start
    with ``indent`` spaces (none if that would leave fewer than 10 cells). Only a
    piece wider than a whole line is cut inside, where the line ends. Removing the
    indent from the continuation lines and joining gives ``name`` back.
    """
    width = max(width, 1)
    if cell_len(name) <= width:
        return [name]
    indent = indent if indent > 0 and width - indent >= 10 else 0
    lines: list[str] = []
    current = ""

    def room() -> int:
        return width if not lines else width - indent

    for segment in _name_segments(name):
        if cell_len(current) + cell_len(segment) <= room():
            current += segment
            continue
        if current:
            lines.append(current)
            current = ""
        while cell_len(segment) > room():  # last resort: one piece wider than a line
            head, segment = _cut_cells(segment, room())
            lines.append(head)
        current = segment
    if current:
        lines.append(current)
    return lines[:1] + [" " * indent + line for line in lines[1:]]


def wrap_text(text: str, width: int) -> list[str]:
    """A reason or title as lines of at most ``width`` characters, broken at spaces."""
    lines: list[str] = []
    for paragraph in text.splitlines():
        lines.extend(textwrap.wrap(paragraph, max(width, 1), break_on_hyphens=False))
    return lines


def _status(status: str) -> str:
    label, style = _STYLE.get(status, (status, ""))
    label = escape(label[:STATUS_WIDTH].ljust(STATUS_WIDTH))
    return f"[{style}]{label}[/]" if style else label


def check_lines(name: str, r: CheckResult, width: int, *, wide: bool = False,
                title_column: int = 0) -> list[str]:
    """The markup lines of one check: status and name, then its title and reason.

    ``name`` is what is shown (the id without its area under an area heading, the
    whole id in the recap of failures). A failed or skipped check gets its reason on
    the next lines, under the name; on a wide console its title (dim) comes first.
    A passed check gets its title on the same line on a wide console, from
    ``title_column`` (relative to the name) on, if it fits there or right after the
    name; otherwise not at all (the JSON report has every title).
    """
    avail = width - NAME_COLUMN
    names = wrap_check_name(name, avail)
    margin, column = " " * CHECK_MARGIN, " " * NAME_COLUMN
    first = f"{margin}{_status(r.status)} {escape(names[0])}"
    if wide and r.status == PASSED and r.title and len(names) == 1:
        used = cell_len(names[0])
        start = title_column if title_column >= used + TITLE_GAP else used + TITLE_GAP
        if start + cell_len(r.title) <= avail:
            first += " " * (start - used) + f"[dim]{escape(r.title)}[/]"
    lines = [first] + [column + escape(line) for line in names[1:]]
    if r.status == PASSED:
        return lines
    text = column + " " * TEXT_INDENT
    if wide and r.title:
        lines += [f"{text}[dim]{escape(line)}[/]"
                  for line in wrap_text(r.title, avail - TEXT_INDENT)]
    lines += [text + escape(line) for line in wrap_text(r.reason, avail - TEXT_INDENT)]
    return lines


def _title_column(names: list[str], avail: int) -> int:
    """Where the titles of an area's passed checks line up: after its names that are
    at most ``TITLE_ALIGN`` cells (a longer name has its title right after it)."""
    short = [cell_len(n) for n in names if cell_len(n) <= min(TITLE_ALIGN, avail // 2)]
    return max(short) + TITLE_GAP if short else 0


def print_host(console: Console, report: Report, host: str) -> None:
    """One host's section: header, a count per area, every check by area, failures.

    The header line names the host; a small table counts passed / failed / skipped
    per area (the check id's part before the first "."), areas with a failure in
    bold red. Then, under a heading per area (in the order the checks ran), one line
    per check: its status word and its name without the area; a failed or skipped
    check's reason follows on indented lines. Failed checks come first in their area
    and are listed again, with their whole id and reason, at the end of the section,
    right above the host's summary line, so that none goes unseen among ~330.

    Names are broken only at separators (see ``wrap_check_name``), reasons at spaces,
    and no line is wider than the console. From 120 columns on, a passed check shows
    its title after its name when it fits, a failed or skipped one its title (dim)
    above the reason.
    """
    info = report.hosts.get(host, {})
    width = console.width
    wide = width >= WIDE
    avail = width - NAME_COLUMN
    results = [r for r in report.results if r.host == host]
    console.print()
    through = f", SSH {info['ssh']}" if info.get("ssh") else ""
    console.rule(f"[bold]{escape(host)}[/] ({escape(str(info.get('address', '?')) + through)})",
                 align="left")
    areas: dict[str, list[tuple[str, CheckResult]]] = {}
    for r in results:
        area, name = split_check(r.check)
        areas.setdefault(area, []).append((name, r))
    if areas:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        table.add_column("area", overflow="fold")
        for status in (PASSED, FAILED, SKIPPED):
            table.add_column(status, justify="right")
        for area, checks in areas.items():
            n = {s: sum(1 for _, r in checks if r.status == s) for s in (PASSED, FAILED, SKIPPED)}
            table.add_row(escape(area), str(n[PASSED]), str(n[FAILED]), str(n[SKIPPED]),
                          style="bold red" if n[FAILED] else None)
        console.print(table)
    for area, checks in areas.items():
        failed = [(name, r) for name, r in checks if r.status == FAILED]
        console.print()
        console.print(f"[bold]{escape(area)}[/]"
                      + (f"  [bold red]{len(failed)} FAILED[/]" if failed else ""))
        column = _title_column([name for name, r in checks if r.status == PASSED], avail)
        for name, r in failed + [(name, r) for name, r in checks if r.status != FAILED]:
            for line in check_lines(name, r, width, wide=wide, title_column=column):
                console.print(line)
    failed_results = [r for r in results if r.status == FAILED]
    if failed_results:
        console.print()
        console.print(f"[bold red]{escape(host)}: {len(failed_results)} failed "
                      f"check{'s' if len(failed_results) > 1 else ''}[/]")
        for r in failed_results:
            for line in check_lines(r.check, r, width, wide=wide):
                console.print(line)
    c = report.counts(host)
    console.print(f"{escape(host)}: {summary_text(c[PASSED], c[FAILED], c[SKIPPED])} "
                  f"in {info.get('duration', 0):.1f} s")
    if info.get("connection_error"):
        console.print(f"[bold red]{escape(host)}: SSH connection failed:[/] "
                      f"{escape(info['connection_error'])}")


def summary_text(passed: int, failed: int, skipped: int) -> str:
    return (f"[green]{passed} passed[/], "
            + (f"[bold red]{failed} failed[/]" if failed else "0 failed")
            + f", [yellow]{skipped} skipped[/]")


def print_summary(console: Console, report: Report) -> None:
    verdict = "[bold green]OK[/]" if report.exit_code == 0 else "[bold red]FAILED[/]"
    console.print(f"\nverify {verdict}: {len(report.hosts)} host(s), "
                  f"{summary_text(report.passed, report.failed, report.skipped)} "
                  f"in {report.duration:.1f} s")
