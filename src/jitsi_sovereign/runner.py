"""Run a playbook through ansible-runner, with a progress display and a summary.

The run's event stream feeds the display: the current play, task and host,
and per-host ok/changed/failed counts. On failure the failing task, host and
message are shown, with where the full log is kept and the ansible-playbook
command that reproduces the run.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from jitsi_sovereign import paths
from jitsi_sovereign.inventory import Inventory

COUNTERS = ("ok", "changed", "failed", "unreachable", "skipped")
# Ansible's own notices that tell a user nothing to act on (they stay in the run's log).
QUIET_WARNINGS = ("did not exist and was created",)  # remote_tmp, made on first use


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "jitsi-sovereign"


@dataclass
class Failure:
    host: str
    task: str
    message: str
    unreachable: bool = False


@dataclass
class Progress:
    """What the event stream has told so far."""

    play: str = ""
    task: str = ""
    host: str = ""
    tasks_done: int = 0
    counts: dict[str, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: dict.fromkeys(COUNTERS, 0)))
    failures: list[Failure] = field(default_factory=list)
    changed_tasks: list[tuple[str, str]] = field(default_factory=list)

    def handle(self, event: dict[str, Any]) -> str | None:
        """Update from one ansible-runner event; return a line worth printing, if any."""
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        if kind == "playbook_on_play_start":
            self.play = data.get("play", "")
            return f"PLAY {self.play}"
        if kind == "playbook_on_task_start":
            self.task = data.get("task", "")
            self.tasks_done += 1
            return None
        if not kind.startswith("runner_on_") or kind == "runner_on_start":
            return None
        host = data.get("host", "")
        self.host = host
        res = data.get("res") or {}
        task = data.get("task", self.task)
        line = self._result_line(kind, host, task, event, res)
        warnings = [str(w).strip() for w in res.get("warnings") or []
                    if str(w).strip() and not any(q in str(w) for q in QUIET_WARNINGS)]
        if warnings and not res.get("_ansible_no_log"):
            notes = "\n".join(f"  warning: {w}" for w in warnings)
            return f"{line}\n{notes}" if line else f"note: [{host}] {task}\n{notes}"
        return line

    def _result_line(self, kind: str, host: str, task: str, event: dict[str, Any],
                     res: dict[str, Any]) -> str | None:
        """Count the result; the line worth printing for it, if any."""
        if kind == "runner_on_ok":
            self.counts[host]["ok"] += 1
            # A no_log result is censored down to one message, without "changed": the
            # callback's own line for the event still says it.
            censored_changed = "censored" in res and str(event.get("stdout", "")).lstrip() \
                .startswith("changed:")
            if res.get("changed") or censored_changed:
                self.counts[host]["changed"] += 1
                self.changed_tasks.append((host, task))
                return f"changed: [{host}] {task}"
        elif kind == "runner_on_skipped":
            self.counts[host]["skipped"] += 1
        elif kind == "runner_on_unreachable":
            self.counts[host]["unreachable"] += 1
            self.failures.append(Failure(host, task, _message(res), unreachable=True))
            return f"UNREACHABLE: [{host}] {task} (details at the end)"
        elif kind == "runner_on_failed":
            if (event.get("event_data") or {}).get("ignore_errors"):
                self.counts[host]["ok"] += 1
                return None
            self.counts[host]["failed"] += 1
            self.failures.append(Failure(host, task, _message(res)))
            return f"FAILED: [{host}] {task} (details at the end)"
        return None

    def status_line(self) -> Text:
        line = Text()
        line.append(f"{self.play} ", style="bold")
        line.append(f"[{self.tasks_done}] {self.task}")
        if self.host:
            line.append(f"  ({self.host})", style="dim")
        return line

    def table(self) -> Table:
        table = Table("host", *COUNTERS)
        for host, c in sorted(self.counts.items()):
            style = "red" if c["failed"] or c["unreachable"] else ("yellow" if c["changed"]
                                                                   else "green")
            table.add_row(Text(host, style=style), *(str(c[k]) for k in COUNTERS))
        return table


def _message(res: dict[str, Any]) -> str:
    if res.get("_ansible_no_log"):
        return "(output hidden: the task handles secrets)"
    msg = res.get("msg") or res.get("stderr") or res.get("reason") or ""
    if not msg and res.get("results"):
        msgs = [_message(r) for r in res["results"] if isinstance(r, dict) and r.get("failed")]
        msg = "; ".join(m for m in msgs if m)
    return str(msg).strip() or "no message (see the log)"


@dataclass
class RunResult:
    ok: bool
    rc: int
    stats: dict[str, dict[str, int]]
    log_dir: Path
    failures: list[Failure]
    seconds: float


def reproduce_command(inv: Inventory, playbook: Path, *, check: bool, diff: bool,
                      limit: str | None, tags: str | None, extra_var_names: list[str]) -> str:
    argv = [f"ANSIBLE_CONFIG={paths.ansible_dir() / 'ansible.cfg'}", "ansible-playbook",
            "-i", str(inv.path), str(playbook)]
    if check:
        argv.append("--check")
    if diff:
        argv.append("--diff")
    if limit:
        argv += ["--limit", limit]
    if tags:
        argv += ["--tags", tags]
    cmd = shlex.join(argv)
    if extra_var_names:  # values are not echoed: they may be secrets
        cmd += " -e ...  # with " + ", ".join(extra_var_names)
    return cmd


def _private_vars_file(directory: Path, extra_vars: dict) -> Path:
    """The extra vars as JSON in a new 0600 file of `directory` (created that way, never
    readable by others, not even for an instant)."""
    import json
    import secrets

    path = directory / f"extravars-{secrets.token_hex(8)}.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(extra_vars, handle)
    return path


def run_playbook(inv: Inventory, *, check: bool = False, diff: bool = False,
                 limit: str | None = None, tags: str | None = None,
                 extra_vars: dict | None = None, console: Console | None = None,
                 playbook: str = "site.yml") -> RunResult:
    """Run a shipped playbook on the inventory; never through a shell string."""
    import ansible_runner

    console = console or Console()
    book = paths.playbook(playbook)
    runs = state_dir() / "runs"
    runs.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(runs, 0o700)

    progress = Progress()
    cmdline = []
    if check:
        cmdline.append("--check")
    if diff:
        cmdline.append("--diff")

    interactive = console.is_terminal
    live = Live(progress.status_line(), console=console, refresh_per_second=8,
                transient=True) if interactive else None

    def on_event(event: dict[str, Any]) -> bool:
        line = progress.handle(event)
        if line:
            style = "red" if line.startswith(("FAILED", "UNREACHABLE")) else (
                "yellow" if line.startswith("changed") else "bold")
            console.print(Text(line, style=style))
        elif event.get("event") == "playbook_on_task_start" and not interactive:
            console.print(f"  [{progress.tasks_done}] {escape(progress.task)}")
        if live:
            live.update(progress.status_line())
        return True  # keep the event in the artifacts too

    # ansible-runner finds ansible-playbook on this PATH (setting its `binary` would switch
    # it to raw mode, which drops the playbook argument): this environment's one first.
    bin_dir = str(Path(sys.executable).parent)
    env = {
        "ANSIBLE_CONFIG": str(paths.ansible_dir() / "ansible.cfg"),
        "ANSIBLE_ROLES_PATH": str(paths.roles_dir()),
        "ANSIBLE_COLLECTIONS_PATH": str(paths.collections_dir()),
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        "ANSIBLE_NOCOLOR": "1",
    }
    # Extra vars travel in a private file (-e @file), removed after the run: on argv they
    # would show in `ps` and in the run's artifacts (artifacts/<id>/command).
    vars_file = _private_vars_file(runs, extra_vars) if extra_vars else None
    if vars_file:
        cmdline.append("-e @" + shlex.quote(str(vars_file)))
    started = time.monotonic()
    if live:
        live.start()
    try:
        r = ansible_runner.run(
            private_data_dir=str(runs),
            playbook=str(book),
            inventory=str(inv.path.resolve()),
            limit=limit,
            tags=tags,
            cmdline=" ".join(cmdline) or None,
            envvars=env,
            event_handler=on_event,
            quiet=True,
            suppress_env_files=True,
            rotate_artifacts=20,
        )
    finally:
        if live:
            live.stop()
        if vars_file:
            vars_file.unlink(missing_ok=True)
    seconds = time.monotonic() - started
    log_dir = Path(r.config.artifact_dir)
    stats = {h: dict(c) for h, c in progress.counts.items()}

    console.print(progress.table())
    ok = r.rc == 0 and r.status == "successful"
    total_changed = sum(c["changed"] for c in stats.values())
    if ok:
        console.print(f"[green]deploy finished[/] in {seconds:.1f} s, "
                      f"{total_changed} change(s). Log: {log_dir / 'stdout'}")
    else:
        for f in progress.failures:
            what = "unreachable" if f.unreachable else "failed"
            console.print(f"[bold red]{what}[/] host [bold]{escape(f.host)}[/], task "
                          f"[bold]{escape(f.task)}[/]:\n  {escape(f.message)}")
        if not progress.failures:
            console.print(f"[bold red]ansible-playbook ended with status {r.status} "
                          f"(rc={r.rc})[/]")
        console.print(f"Full log: {log_dir / 'stdout'}")
        console.print("Reproduce with: " + escape(reproduce_command(
            inv, book, check=check, diff=diff, limit=limit, tags=tags,
            extra_var_names=sorted(extra_vars or {}))))
    return RunResult(ok=ok, rc=r.rc, stats=stats, log_dir=log_dir,
                     failures=progress.failures, seconds=seconds)
