"""The ``jitsi-sovereign`` command.

Every subcommand validates its inputs before touching a host; a problem the
user can fix is printed as a short message with its fix (exit 2), never as a
traceback.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from jitsi_sovereign import __version__
from jitsi_sovereign.cloud.cli import app as cloud_app
from jitsi_sovereign.errors import UserError

app = typer.Typer(
    help="Deploy and prove a hardened, sovereign Jitsi Meet server on Debian.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
lab_app = typer.Typer(help="Local lab hosts: real Debian with systemd and sshd, in systemd-nspawn.",
                      no_args_is_help=True)
app.add_typer(lab_app, name="lab")
users_app = typer.Typer(help="Moderator accounts of the meeting (prosody, over SSH).",
                        no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(cloud_app, name="cloud")

console = Console()
err_console = Console(stderr=True)

InventoryOpt = Annotated[
    Path, typer.Option("-i", "--inventory", help="Ansible inventory (file or directory).")
]


def _version(value: bool) -> None:
    if value:
        console.print(f"jitsi-sovereign {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """jitsi-sovereign: Ansible roles driven from your laptop, proven by testinfra checks."""


def _parse_extra_vars(values: list[str]) -> dict:
    """``-e key=value`` or ``-e @file.yml`` or ``-e '{"json": 1}'``, like ansible-playbook."""
    import yaml

    out: dict = {}
    for raw in values:
        if raw.startswith("@"):
            path = Path(raw[1:])
            if not path.is_file():
                raise UserError(f"extra-vars file {path} does not exist",
                                "give the path of a YAML file after '@'")
            data = yaml.safe_load(path.read_text()) or {}
        elif raw.lstrip().startswith("{"):
            data = yaml.safe_load(raw)
        elif "=" in raw:
            key, _, value = raw.partition("=")
            data = {key.strip(): yaml.safe_load(value) if value else ""}
        else:
            raise UserError(f"-e {raw!r} is not key=value, @file or a JSON/YAML mapping",
                            "write it as -e firewall_admin_cidrs='[\"192.0.2.0/24\"]'")
        if not isinstance(data, dict):
            raise UserError(f"-e {raw!r} does not hold a mapping of variables")
        out.update(data)
    return out


# --------------------------------------------------------------------------- lab


def _lab():
    from jitsi_sovereign.lab import Lab

    return Lab()


@lab_app.command("up")
def lab_up(
    hosts: Annotated[int, typer.Option("--hosts", min=1, max=20, help="How many hosts.")] = 1,
    debian: Annotated[str, typer.Option("--debian", help="Debian release: 13 or 12.")] = "13",
    prefix: Annotated[str, typer.Option("--prefix", help="Host name prefix.")] = "lab",
    apt_lists: Annotated[str, typer.Option(
        "--apt-lists", help="New hosts' apt package lists: 'image' (those of the image's "
        "build, as a VM updated when it was made) or 'removed' (none, in a directory "
        "modified at boot, as a cloud image whose lists were deleted after its build).")
    ] = "image",
    as_json: Annotated[bool, typer.Option("--json", help="Print the hosts as JSON.")] = False,
) -> None:
    """Start lab hosts (reusing running ones) and write the lab inventory."""
    lab = _lab()
    started = lab.up(count=hosts, debian=debian, prefix=prefix, apt_lists=apt_lists)
    if as_json:
        print(json.dumps([h.as_dict() for h in started], indent=2))
        return
    for h in started:
        console.print(f"[green]{'reused' if h.reused else 'up'}[/] {h.name}  {h.address}  "
                      f"debian {h.debian}")
    console.print(f"inventory: {lab.inventory_path}")


@lab_app.command("down")
def lab_down(
    names: Annotated[list[str] | None, typer.Argument(help="Hosts to stop (default: all).")] = None,
) -> None:
    """Stop lab hosts; with none left, remove the bridge and stop the apt proxy."""
    stopped = _lab().down(names or None)
    for name in stopped:
        console.print(f"[yellow]down[/] {name}")


@lab_app.command("status")
def lab_status() -> None:
    """List lab hosts and helpers."""
    from rich.table import Table

    lab = _lab()
    rows = lab.status()
    table = Table("host", "address", "debian", "state", "pid")
    for r in rows:
        table.add_row(r["name"], r["address"], r["debian"], r["state"], str(r.get("pid") or ""))
    console.print(table)
    proxy = lab.proxy_status()
    console.print(f"apt proxy {proxy['address']}: {proxy['state']}"
                  + (f" (pid {proxy['pid']})" if proxy["pid"] else ""))
    ca = lab.acme_status()
    pids = ", ".join(f"{label} {ca[key]}" for key, label in (("pid", "pebble"), ("dns_pid", "dns"))
                     if ca[key])
    console.print(f"ACME server {ca['address']}: {ca['state']}" + (f" ({pids})" if pids else ""))


@lab_app.command("ssh", context_settings={"allow_extra_args": True})
def lab_ssh(ctx: typer.Context,
            name: Annotated[str, typer.Argument(help="Lab host name.")]) -> None:
    """Open an SSH session on a lab host (extra arguments are run as a command)."""
    argv = _lab().ssh_argv(name) + list(ctx.args)
    os.execvp(argv[0], argv)  # noqa: S606 - replaces this process with ssh, argv list


# ------------------------------------------------------------------ deploy/verify


@app.command()
def deploy(
    inventory: InventoryOpt,
    check: Annotated[bool, typer.Option("--check",
                                        help="Dry run: report, change nothing.")] = False,
    diff: Annotated[bool, typer.Option("--diff", help="Show file differences.")] = False,
    limit: Annotated[str | None, typer.Option("--limit", help="Only these hosts/groups.")] = None,
    tags: Annotated[str | None, typer.Option("--tags", help="Only tasks with these tags.")] = None,
    extra_vars: Annotated[list[str] | None, typer.Option("-e", "--extra-vars",
                                                         help="key=value, @file or JSON.")] = None,
) -> None:
    """Run playbooks/site.yml on the inventory, with a progress display."""
    from jitsi_sovereign.inventory import load_and_validate
    from jitsi_sovereign.runner import run_playbook

    evars = _parse_extra_vars(extra_vars or [])
    inv = load_and_validate(inventory, extra_vars=evars, limit=limit)
    result = run_playbook(inv, check=check, diff=diff, limit=limit, tags=tags, extra_vars=evars,
                          console=console)
    if not result.ok:
        raise typer.Exit(1)


LANGS = ("fr", "en")
LangOpt = Annotated[str, typer.Option("--lang", help="Language of the report: fr or en.")]
HtmlOpt = Annotated[Path | None, typer.Option(
    "--html", help="Write the report as one self-contained HTML page (for a DPO).")]


def _check_lang(lang: str) -> str:
    lang = lang.strip().lower()
    if lang not in LANGS:
        raise UserError(f"--lang {lang!r}: the report is written in French or English",
                        "--lang fr or --lang en")
    return lang


@app.command()
def verify(
    inventory: InventoryOpt,
    json_out: Annotated[Path | None, typer.Option(
        "--json", help="Write the report as JSON (schema report-v1).")] = None,
    html_out: HtmlOpt = None,
    lang: LangOpt = "en",
    limit: Annotated[str | None, typer.Option("--limit", help="Only these hosts/groups.")] = None,
) -> None:
    """Run the shipped checks against every host; exit 1 on any failure."""
    from jitsi_sovereign.inventory import load_and_validate

    lang = _check_lang(lang)
    inv = load_and_validate(inventory, limit=limit, own_ssh=True)
    from jitsi_sovereign.verify import run_verify

    report = run_verify(inv, json_path=json_out, html_path=html_out, lang=lang,
                        console=console)
    if report.failed:
        raise typer.Exit(1)


def _turn_credentials(user: str | None, from_stdin: bool) -> tuple[str, str] | None:
    """--turn-user with its password on stdin (never on the command line)."""
    if user is None and not from_stdin:
        return None
    if user is None:
        raise UserError("--turn-password-stdin needs --turn-user",
                        "give both: --turn-user NAME --turn-password-stdin < password-file")
    if not from_stdin:
        raise UserError("--turn-user needs its password on stdin",
                        "add --turn-password-stdin and write the password to stdin "
                        "(it is never read from the command line)")
    line = sys.stdin.readline()
    password = line[:-1] if line.endswith("\n") else line
    if not password:
        raise UserError("--turn-password-stdin: stdin holds no password",
                        "write the TURN password as the first line of stdin")
    return user, password


@app.command()
def audit(
    url: Annotated[str, typer.Argument(help="The server's address, e.g. https://meet.example.fr")],
    json_out: Annotated[Path | None, typer.Option(
        "--json", help="Write the report as JSON (schema report-v1).")] = None,
    html_out: HtmlOpt = None,
    lang: LangOpt = "en",
    connect_to: Annotated[str | None, typer.Option(
        "--connect-to", help="Reach the server at HOST:PORT instead of where its name "
        "resolves; the name is still used for SNI, Host and the certificate (as curl's "
        "option).")] = None,
    cafile: Annotated[Path | None, typer.Option(
        "--cafile", help="Also trust this CA (PEM), e.g. a private or lab CA.")] = None,
    turn_user: Annotated[str | None, typer.Option(
        "--turn-user", help="TURN user name, when the server does not hand credentials to "
        "guests (with --turn-password-stdin).")] = None,
    turn_password_stdin: Annotated[bool, typer.Option(
        "--turn-password-stdin", help="Read the TURN password from the first line of stdin "
        "(never from argv).")] = False,
) -> None:
    """Audit any Jitsi Meet server from outside; exit 1 when a high-severity check fails,
    2 when the audit cannot run."""
    from jitsi_sovereign.audit import context as audit_context
    from jitsi_sovereign.audit import engine
    from jitsi_sovereign.audit.context import AuditContext
    from jitsi_sovereign.audit.target import parse_target
    from jitsi_sovereign.report import html
    from jitsi_sovereign.report.model import Report
    from jitsi_sovereign.report.terminal import print_report

    lang = _check_lang(lang)
    credentials = _turn_credentials(turn_user, turn_password_stdin)
    try:
        target = parse_target(url, connect_to=connect_to, cafile=cafile)
    except UserError as exc:
        if json_out is not None:  # CI reads why the audit did not run (exit_code 2)
            Report(kind="audit", target=url, error=str(exc),
                   tool_version=__version__).write_json(json_out)
        raise
    report = engine.run(AuditContext(target, turn_credentials=credentials))
    # The areas' shared context says when a failed finding means the audit could not run
    # at all (no HTTPS answer, not a Jitsi server): exit status 2, the findings still shown.
    fatal = getattr(audit_context, "fatal_error", None)
    if fatal is not None and not report.error:
        report.error = fatal(report.findings)
    report.hosts = {target.name: {"address": target.address, "port": target.connect_port,
                                  "connect_to": target.connect_to}}
    print_report(console, report, lang)
    if json_out is not None:
        report.write_json(json_out)
        console.print(f"report written to {escape(str(json_out))}")
    if html_out is not None:
        html.write(report, html_out, lang=lang)
        console.print(f"HTML report ({lang}) written to {escape(str(html_out))}")
    raise typer.Exit(report.exit_code)


@app.command()
def demo(
    debian: Annotated[str, typer.Option("--debian", help="Debian release: 13 or 12.")] = "13",
    json_out: Annotated[Path | None, typer.Option(
        "--json", help="Write the report as JSON (schema report-v1).")] = None,
    html_out: HtmlOpt = None,
    lang: LangOpt = "en",
) -> None:
    """Bring up a lab host, deploy the roles on it and verify it: the whole job on defaults."""
    from jitsi_sovereign.inventory import load_and_validate
    from jitsi_sovereign.runner import run_playbook
    from jitsi_sovereign.verify import run_verify

    lang = _check_lang(lang)
    lab = _lab()
    hosts = lab.up(count=1, debian=debian, prefix="demo")
    console.print(f"[green]lab host {'reused' if hosts[0].reused else 'up'}[/] {hosts[0].name} "
                  f"{hosts[0].address} (debian {debian})"
                  + (": it was running already, the deploy runs again on it"
                     if hosts[0].reused else ""))
    inv = load_and_validate(lab.inventory_path, limit=hosts[0].name, own_ssh=True)
    result = run_playbook(inv, limit=hosts[0].name, console=console)
    if not result.ok:
        raise typer.Exit(1)
    report = run_verify(inv, json_path=json_out, html_path=html_out, lang=lang,
                        console=console)
    console.print(f"\nThe lab host keeps running: [bold]jitsi-sovereign lab ssh {hosts[0].name}[/] "
                  "to look around, [bold]jitsi-sovereign lab down[/] to stop it.")
    if report.failed:
        raise typer.Exit(1)


# --------------------------------------------------------------------------- users

LimitOpt = Annotated[str | None, typer.Option("--limit", help="Only these hosts/groups.")]
UserArg = Annotated[str, typer.Argument(help="User name (the part before @domain).")]
PasswordStdinOpt = Annotated[bool, typer.Option(
    "--password-stdin", help="Read the password from the first line of stdin (never from argv).")]


def _user_hosts(inventory: Path, limit: str | None):
    """(UserHost, close) for every selected host, over the strict SSH client."""
    from jitsi_sovereign.inventory import load_and_validate
    from jitsi_sovereign.users import UserHost, ssh_runner

    inv = load_and_validate(inventory, limit=limit, own_ssh=True)
    if not inv.hosts:
        raise UserError("no host selected", "check --limit and the inventory")
    out = []
    for spec in inv.hosts:
        run, close = ssh_runner(spec)
        out.append((UserHost(spec.name, run), close))
    return out


def _read_password(from_stdin: bool) -> str:
    from jitsi_sovereign.users import check_password

    if from_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return check_password(password)


def _each_host(inventory: Path, limit: str | None, action) -> None:
    for uh, close in _user_hosts(inventory, limit):
        try:
            action(uh)
        finally:
            close()


def _each_host_with_password(inventory: Path, limit: str | None, from_stdin: bool,
                             action) -> None:
    """Connect and read every host's auth mode first (token/ldap refuse: the accounts
    live elsewhere), and only then ask for the password."""
    hosts = _user_hosts(inventory, limit)
    try:
        for uh, _close in hosts:
            uh.domain  # noqa: B018 - reads prosody.json, refuses in token and ldap mode
        password = _read_password(from_stdin)
        for uh, _close in hosts:
            action(uh, password)
    finally:
        for _uh, close in hosts:
            close()


@users_app.command("add")
def users_add(inventory: InventoryOpt, user: UserArg, limit: LimitOpt = None,
              password_stdin: PasswordStdinOpt = False) -> None:
    """Add a moderator account on the main domain."""
    from jitsi_sovereign.users import check_user

    check_user(user)

    def act(uh, password: str) -> None:
        uh.add(user, password)
        console.print(f"[green]added[/] {user}@{uh.domain} ({uh.name})")

    _each_host_with_password(inventory, limit, password_stdin, act)


@users_app.command("passwd")
def users_passwd(inventory: InventoryOpt, user: UserArg, limit: LimitOpt = None,
                 password_stdin: PasswordStdinOpt = False) -> None:
    """Change the password of an account."""
    from jitsi_sovereign.users import check_user

    check_user(user)

    def act(uh, password: str) -> None:
        uh.passwd(user, password)
        console.print(f"[green]password changed[/] {user}@{uh.domain} ({uh.name})")

    _each_host_with_password(inventory, limit, password_stdin, act)


@users_app.command("remove")
def users_remove(inventory: InventoryOpt, user: UserArg, limit: LimitOpt = None) -> None:
    """Remove an account."""
    from jitsi_sovereign.users import check_user

    check_user(user)

    def act(uh) -> None:
        uh.remove(user)
        console.print(f"[yellow]removed[/] {user}@{uh.domain} ({uh.name})")

    _each_host(inventory, limit, act)


@users_app.command("list")
def users_list(inventory: InventoryOpt, limit: LimitOpt = None) -> None:
    """List the accounts of the main domain."""
    def act(uh) -> None:
        names = uh.list()
        console.print(f"[bold]{uh.name}[/] {uh.domain}: {len(names)} account(s)")
        for name in names:
            console.print(f"  {name}")

    _each_host(inventory, limit, act)


def main() -> None:
    try:
        app()
    except UserError as exc:
        err_console.print("[bold red]error:[/] " + escape(str(exc)), highlight=False,
                          soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
