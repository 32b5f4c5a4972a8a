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
lab_app = typer.Typer(help="Local lab hosts: real Debian with systemd and sshd, in systemd-nspawn "
                      "or a qemu VM.",
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
    var_log_mb: Annotated[int, typer.Option(
        "--var-log-mb", help="New hosts' /var/log on a filesystem of its own of this many "
        "MiB (16-1024; an ext4 image in the host's lab directory, loop-mounted: as a "
        "server with a /var/log partition, so that a full /var/log can be tested without "
        "filling this machine's disk). 0: /var/log is part of the root.")] = 0,
    kind: Annotated[str, typer.Option(
        "--kind", help="'nspawn' (a container: starts in seconds) or 'vm' (a Debian VM under "
        "qemu's software emulation, on the same lab network: its own kernel, so kernel "
        "sysctls, auditd, the module blacklist and a real reboot are checked for real; "
        "~40 s to boot, ~700 MB of memory each, the VM image built once in ~2 min).")
    ] = "nspawn",
    base_only: Annotated[bool, typer.Option(
        "--base-only/--no-base-only", help="The lab inventory gives these hosts no "
        "jitsi_sovereign_domain: site.yml deploys the hardened base only (os_hardening, "
        "firewall) there.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the hosts as JSON.")] = False,
) -> None:
    """Start lab hosts (reusing running ones) and write the lab inventory."""
    lab = _lab()
    started = lab.up(count=hosts, debian=debian, prefix=prefix, apt_lists=apt_lists,
                     kind=kind, base_only=base_only, var_log_mb=var_log_mb)
    if as_json:
        print(json.dumps([h.as_dict() for h in started], indent=2))
        return
    for h in started:
        console.print(f"[green]{'reused' if h.reused else 'up'}[/] {h.name}  {h.address}  "
                      f"debian {h.debian}  {h.kind}")
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
    table = Table("host", "kind", "address", "debian", "state", "pid")
    for r in rows:
        table.add_row(r["name"], r["kind"], r["address"], r["debian"], r["state"],
                      str(r.get("pid") or ""))
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


# --------------------------------------------------------------------------- init

InitDirArg = Annotated[Path, typer.Argument(help="Directory of the new inventory.")]


def _opt(*names: str, help: str, **kw):
    return typer.Option(*names, help=help, rich_help_panel=kw.pop("panel", None), **kw)


@app.command()
def init(
    directory: InitDirArg,
    domain: Annotated[str | None, _opt("--domain", help="The meeting's DNS name, e.g. "
                                       "meet.example.fr (required).")] = None,
    host: Annotated[str | None, _opt("--host", help="The VM's address, where SSH answers "
                                     "(required).")] = None,
    user: Annotated[str | None, _opt("--user", help="Login user with sudo "
                                     "(default: debian).")] = None,
    port: Annotated[int | None, _opt("--port", help="SSH port (default: 22).")] = None,
    key: Annotated[Path | None, _opt("--key", help="SSH private key file, mode 0600 "
                                     "(required).")] = None,
    admin_cidr: Annotated[list[str] | None, _opt(
        "--admin-cidr", help="Network allowed to reach SSH (repeatable) (default: the "
        "address you connect from when known, else every address, with a warning).")] = None,
    auth: Annotated[str | None, _opt("--auth", help="Who opens rooms: internal, token or "
                                     "ldap (default: internal).", panel="Meeting")] = None,
    guests: Annotated[bool | None, _opt("--guests/--no-guests", help="Guests join open rooms "
                                        "(default: --guests).", panel="Meeting")] = None,
    jwt_app_id: Annotated[str | None, _opt("--jwt-app-id", help="auth token: the app id "
                                           "[jitsi-sovereign].", panel="Meeting")] = None,
    ldap_url: Annotated[str | None, _opt("--ldap-url", help="auth ldap: ldaps://host (or "
                                         "ldap://host, StartTLS).", panel="Meeting")] = None,
    ldap_base: Annotated[str | None, _opt("--ldap-base", help="auth ldap: base DN of users.",
                                          panel="Meeting")] = None,
    ldap_bind_dn: Annotated[str | None, _opt("--ldap-bind-dn", help="auth ldap: bind DN "
                                             "(its password goes in a vault).",
                                             panel="Meeting")] = None,
    private_ip: Annotated[str | None, _opt("--private-ip", help="Behind 1:1 NAT: the VM's "
                                           "private address.", panel="Meeting")] = None,
    public_ip: Annotated[str | None, _opt("--public-ip", help="Behind 1:1 NAT: its public "
                                          "address.", panel="Meeting")] = None,
    provider: Annotated[str | None, _opt("--provider", help="Hosting provider.",
                                         panel="Hosting facts (the report)")] = None,
    region: Annotated[str | None, _opt("--region", help="Region or datacenter.",
                                       panel="Hosting facts (the report)")] = None,
    country: Annotated[str | None, _opt("--country", help="Country.",
                                        panel="Hosting facts (the report)")] = None,
    jurisdiction: Annotated[str | None, _opt("--jurisdiction", help="Jurisdiction.",
                                             panel="Hosting facts (the report)")] = None,
    certification: Annotated[str | None, _opt("--certification", help="Certification.",
                                              panel="Hosting facts (the report)")] = None,
    tls: Annotated[str | None, _opt("--tls", help="Certificate: acme, selfsigned (labs) or "
                                    "provided (default: acme).", panel="Certificate")] = None,
    acme_directory: Annotated[str | None, _opt(
        "--acme-directory", help="ACME directory URL (default: Let's Encrypt).",
        panel="Certificate")] = None,
    acme_ca: Annotated[Path | None, _opt("--acme-ca", help="PEM of a private ACME server's "
                                         "HTTPS CA.", panel="Certificate")] = None,
    acme_email: Annotated[str | None, _opt("--acme-email", help="E-mail for expiry warnings.",
                                           panel="Certificate")] = None,
    tls_cert: Annotated[Path | None, _opt("--tls-cert", help="tls provided: certificate.",
                                          panel="Certificate")] = None,
    tls_chain: Annotated[Path | None, _opt("--tls-chain", help="tls provided: chain.",
                                           panel="Certificate")] = None,
    tls_key: Annotated[Path | None, _opt("--tls-key", help="tls provided: its key.",
                                         panel="Certificate")] = None,
    trust_ca: Annotated[Path | None, _opt(
        "--trust-ca", help="PEM of a private CA that issues the server's certificate: "
        "verify's outside TLS checks trust it (default: public stores).",
        panel="Certificate")] = None,
    known_hosts: Annotated[Path | None, _opt(
        "--known-hosts", help="known_hosts file holding the VM's host key (strict checking); "
        "default: your ~/.ssh/known_hosts.")] = None,
    set_vars: Annotated[list[str] | None, _opt(
        "--set", help="Another role variable, KEY=VALUE (YAML value), checked against the "
        "roles' specs (repeatable).")] = None,
    force: Annotated[bool, _opt("--force", help="Write into an existing directory (only "
                                "hosts.yml, group_vars/all.yml, .gitignore are written).")
                     ] = False,
    interactive: Annotated[bool, _opt("--interactive", help="Ask for what the flags do not "
                                      "give, even when stdin is not a terminal.")] = False,
    non_interactive: Annotated[bool, _opt("--non-interactive", help="Never ask: a missing "
                                          "required flag is an error.")] = False,
) -> None:
    """Write a commented inventory for your VM, checked as deploy checks it: asked
    interactively on a terminal, or from flags for scripts."""
    from jitsi_sovereign import initcli, initinv
    from jitsi_sovereign.errors import ValidationErrors

    if interactive and non_interactive:
        raise UserError("--interactive and --non-interactive together",
                        "give one of them")
    ask = interactive or (not non_interactive and sys.stdin.isatty())
    problem = initinv.directory_problem(directory, force=force)
    if problem is not None and ask:  # before the questions; with flags, with the rest
        raise problem
    extra = {}
    for raw in set_vars or []:
        if "=" not in raw:
            raise UserError(f"--set {raw!r} is not KEY=VALUE",
                            "e.g. --set nginx_access_log=anonymized")
        extra.update(_parse_extra_vars([raw]))
    flags = initcli.Flags(
        domain=domain, host=host, user=user, port=port, key=key, admin_cidrs=admin_cidr,
        auth=auth, guests=guests, jwt_app_id=jwt_app_id, ldap_url=ldap_url,
        ldap_base=ldap_base, ldap_bind_dn=ldap_bind_dn, provider=provider, region=region,
        country=country, jurisdiction=jurisdiction, certification=certification,
        private_ip=private_ip, public_ip=public_ip, tls=tls, acme_directory=acme_directory,
        acme_ca=acme_ca, acme_email=acme_email, tls_cert=tls_cert, tls_chain=tls_chain,
        tls_key=tls_key, trust_ca=trust_ca, known_hosts=known_hosts, extra=extra)
    try:
        settings = initcli.ask(flags, console) if ask else initcli.from_flags(flags)
    except ValidationErrors as exc:
        raise ValidationErrors(exc.errors + ([problem] if problem else [])) from None
    errors = initinv.validate_settings(settings) + ([problem] if problem else [])
    if errors:
        raise ValidationErrors(errors)
    warnings = initinv.settings_warnings(settings)
    for warning in warnings:
        err_console.print(f"[yellow]warning:[/] {escape(warning)}", soft_wrap=True)
    if ask and not initcli.confirm_write(directory, console):
        console.print("nothing written")
        raise typer.Exit(1)
    written = initinv.write_inventory(settings, directory, force=force)
    for path in written:  # soft_wrap: paths and commands stay whole, to copy
        console.print(f"[green]wrote[/] {escape(str(path))}", soft_wrap=True, highlight=False)
    hosts_file = directory / "hosts.yml"
    console.print("\nNext:")
    if settings.known_hosts is None:
        console.print(f"  ssh -i {escape(str(settings.key))} -p {settings.port} "
                      f"{escape(settings.user)}@{escape(settings.host)} true", soft_wrap=True,
                      highlight=False)
        console.print("    (once: accept the VM's host key, compared with your provider's "
                      "console, and check the login)")
    console.print(f"  [bold]jitsi-sovereign deploy -i {escape(str(hosts_file))}[/]",
                  soft_wrap=True, highlight=False)


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
