"""Run the shipped checks against every host of an inventory and report.

One in-process pytest session per host, on ``jitsi_sovereign/checks``: the inside
checks read the host through one SSH connection (testinfra, paramiko backend, host
key verified against the inventory's known_hosts), the outside checks probe its
address from here. A plugin collects every check's outcome (passed, failed, skipped)
with its reason; the result is printed as one table per host, optionally written as
JSON, and ``failed`` decides the exit status.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from jitsi_sovereign import paths
from jitsi_sovereign.checks.helpers import TARGET_KEY

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
LAB_PASSWORD_VAR = "jitsi_sovereign_lab_password"  # noqa: S105 - a variable name


@dataclass
class CheckResult:
    host: str
    check: str  # e.g. "ssh.option[PasswordAuthentication]"
    title: str  # what the check verifies (its docstring's first line)
    status: str  # passed | failed | skipped
    reason: str = ""  # why it failed or was skipped
    duration: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["duration"] = round(self.duration, 3)
        return d


@dataclass
class Report:
    results: list[CheckResult] = field(default_factory=list)
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)
    duration: float = 0.0

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

    def to_dict(self) -> dict[str, Any]:
        hosts = {name: {**info, **self.counts(name)} for name, info in self.hosts.items()}
        return {
            "hosts": hosts,
            "summary": {"hosts": len(self.hosts), "passed": self.passed,
                        "failed": self.failed, "skipped": self.skipped,
                        "duration": round(self.duration, 3), "ok": self.exit_code == 0},
            "results": [r.as_dict() for r in self.results],
        }

    def write_json(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")


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
        self.results.append(CheckResult(self.host, cid, title, status, reason,
                                        sum(r.duration for r in reports)))

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


def default_password_lookup(inv: Any) -> Callable[[Any], str | None]:
    """The lab-only password of a host: inventory variable, else the lab's own store.

    Only for hosts of the lab's inventory (same name and address as a lab host), so a
    real server never gets a lab password tried against it.
    """
    lab = None
    try:
        from jitsi_sovereign.lab import Lab

        candidate = Lab(state_dir=Path(inv.path).resolve().parent)
        if candidate.inventory_path.resolve() == Path(inv.path).resolve():
            lab = candidate
    except Exception:  # no lab here (or the lab code cannot load): no lab password
        lab = None

    def lookup(spec: Any) -> str | None:
        value = (spec.vars or {}).get(LAB_PASSWORD_VAR)
        if value:
            return str(value)
        if lab is None:
            return None
        try:
            known = {row["name"]: row["address"] for row in lab.status()}
            if known.get(spec.name) != spec.address:
                return None
            return lab.password(spec.name)
        except Exception:
            return None

    return lookup


def run_verify(inv: Any, *, json_path: Path | None = None, console: Console | None = None,
               password_lookup: Callable[[Any], str | None] | None = None,
               connect_timeout: float = 10.0) -> Report:
    """Verify every host of ``inv``; print a table per host; write JSON if asked."""
    from jitsi_sovereign.checks.target import Target

    console = console or Console()
    lookup = password_lookup or default_password_lookup(inv)
    report = Report()
    start = time.monotonic()
    for spec in inv.hosts:
        host_start = time.monotonic()
        target = Target(spec, connect_timeout=connect_timeout, password=lookup(spec))
        collector = ResultCollector(spec.name, target)
        try:
            run_session(collector)
        finally:
            target.close()
        report.results.extend(collector.results)
        report.hosts[spec.name] = {
            "address": spec.address,
            "duration": round(time.monotonic() - host_start, 3),
            "connection_error": target.connection_error,
        }
        print_host(console, report, spec.name)
    report.duration = time.monotonic() - start
    print_summary(console, report)
    if json_path is not None:
        report.write_json(json_path)
        console.print(f"report written to {escape(str(json_path))}")
    return report


# ------------------------------------------------------------------ display

_STYLE = {PASSED: ("passed", "green"), FAILED: ("FAILED", "bold red"),
          SKIPPED: ("skipped", "yellow")}


def print_host(console: Console, report: Report, host: str) -> None:
    """One table per host: check, status, and what it verifies or why it failed/skipped.

    On a narrow console (< 120 columns) passed checks show no text: the check id says
    what passed, the JSON report has every title.
    """
    info = report.hosts.get(host, {})
    wide = console.width >= 120
    table = Table(title=f"{host} ({info.get('address', '?')})", title_justify="left",
                  expand=False)
    table.add_column("check", overflow="fold", ratio=2)
    table.add_column("status", no_wrap=True)
    table.add_column("what / reason" if wide else "reason", overflow="fold", ratio=3)
    for r in report.results:
        if r.host != host:
            continue
        label, style = _STYLE.get(r.status, (r.status, ""))
        if r.status == PASSED:
            text = escape(r.title) if wide else ""
        elif wide:
            text = f"[dim]{escape(r.title)}[/]\n{escape(r.reason)}"
        else:
            text = escape(r.reason)
        table.add_row(escape(r.check), f"[{style}]{label}[/]", text)
    console.print(table)
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
