"""``jitsi-sovereign init``: from flags, or asked one by one, to ``InventorySettings``.

Flags first: every value given as a flag is taken as is (and checked with the rest).
Interactive (a terminal, or ``--interactive``): each value not given is asked, with a
default where one is sensible, and asked again until it is valid. Non-interactive
(``--non-interactive``, or stdin not a terminal): a missing required value is an error
naming its flag; the other values take the defaults below. Nothing is written before
every value is valid (``initinv.write_inventory`` checks them all once more).

Defaults: login user ``debian`` (most Debian cloud images), port 22, auth ``internal``,
guests on, certificate from Let's Encrypt. Admin networks: the address this machine
reaches the VM from, when it is known (the VM is on a private network with this machine,
or this machine has a public address itself); otherwise SSH stays open to every address
(the firewall role's default), with a warning. The prompts offer French hosting facts
(country France, French law); flags declare only the facts given.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.prompt import Confirm, Prompt

from jitsi_sovereign import initinv
from jitsi_sovereign.errors import UserError, ValidationErrors
from jitsi_sovereign.initinv import InventorySettings

ALL_OPEN = ("0.0.0.0/0", "::/0")
DEFAULT_KEYS = ("~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.ssh/id_rsa")


def source_address(host: str, port: int = 22) -> tuple[str, str] | None:
    """(local address, VM address) this machine would use to reach ``host`` (a routing
    lookup: a UDP socket's connect sends nothing), or None."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_UDP)
    except (OSError, UnicodeError):
        return None
    for family, kind, proto, _name, addr in infos:
        try:
            with socket.socket(family, kind, proto) as sock:
                sock.connect(addr)
                return str(sock.getsockname()[0]), str(addr[0])
        except OSError:
            continue
    return None


def detected_admin_cidr(host: str, port: int = 22) -> str | None:
    """The network the VM sees this machine's SSH connections come from, when it can be
    known from here: this machine's address, if the VM is on a private network with it
    (no NAT between) or if that address is public itself. Behind NAT: None (the public
    address the NAT uses cannot be known without asking a service outside)."""
    found = source_address(host, port)
    if found is None:
        return None
    try:
        local, target = (ipaddress.ip_address(a.split("%")[0]) for a in found)
    except ValueError:
        return None
    if local.is_loopback or local.is_unspecified:
        return None
    if local.is_global or not target.is_global:
        return f"{local}/{local.max_prefixlen}"
    return None


@dataclass
class Flags:
    """What the command line gave (None: not given)."""

    domain: str | None = None
    host: str | None = None
    user: str | None = None
    port: int | None = None
    key: Path | None = None
    admin_cidrs: list[str] | None = None
    auth: str | None = None
    guests: bool | None = None
    jwt_app_id: str | None = None
    ldap_url: str | None = None
    ldap_base: str | None = None
    ldap_bind_dn: str | None = None
    provider: str | None = None
    region: str | None = None
    country: str | None = None
    jurisdiction: str | None = None
    certification: str | None = None
    private_ip: str | None = None
    public_ip: str | None = None
    tls: str | None = None
    acme_directory: str | None = None
    acme_ca: Path | None = None
    acme_email: str | None = None
    tls_cert: Path | None = None
    tls_chain: Path | None = None
    tls_key: Path | None = None
    trust_ca: Path | None = None
    known_hosts: Path | None = None
    extra: dict[str, Any] | None = None


REQUIRED = (("domain", "--domain"), ("host", "--host"), ("key", "--key"))


def from_flags(flags: Flags) -> InventorySettings:
    """Non-interactive: the flags and the defaults; every problem at once."""
    missing = [UserError(f"{flag} is required with --non-interactive (or without a terminal)",
                         f"give {flag} (see jitsi-sovereign init --help)")
               for name, flag in REQUIRED if getattr(flags, name) in (None, "")]
    if missing:
        raise ValidationErrors(missing)
    admin = flags.admin_cidrs or []
    if not admin:
        detected = detected_admin_cidr(str(flags.host), flags.port or 22)
        admin = [detected] if detected else []
    return _settings(flags, admin_cidrs=admin, hosting=_hosting(flags))


def _hosting(flags: Flags) -> dict[str, str]:
    return {k: v for k in ("provider", "region", "country", "jurisdiction", "certification")
            if (v := getattr(flags, k))}


def _settings(flags: Flags, **over: Any) -> InventorySettings:
    values: dict[str, Any] = {
        "domain": flags.domain, "host": flags.host, "key": flags.key,
        "user": flags.user or "debian", "port": flags.port if flags.port is not None else 22,
        "auth": flags.auth or "internal", "guests": True if flags.guests is None else flags.guests,
        "jwt_app_id": flags.jwt_app_id, "ldap_url": flags.ldap_url, "ldap_base": flags.ldap_base,
        "ldap_bind_dn": flags.ldap_bind_dn, "private_ip": flags.private_ip,
        "public_ip": flags.public_ip, "tls": flags.tls or "acme",
        "acme_directory": flags.acme_directory, "acme_ca": flags.acme_ca,
        "acme_email": flags.acme_email, "tls_cert": flags.tls_cert,
        "tls_chain": flags.tls_chain, "tls_key": flags.tls_key,
        "trust_ca": flags.trust_ca, "known_hosts": flags.known_hosts,
        "extra": dict(flags.extra or {}),
    }
    values.update(over)
    return InventorySettings(**values)


# ------------------------------------------------------------------ interactive


class _Asker:
    def __init__(self, console: Console) -> None:
        self.console = console

    def text(self, question: str, check: Callable[[str], str | None] | None = None,
             default: str | None = None, optional: bool = False) -> str:
        """Ask until ``check`` finds nothing wrong; '' for an optional value left empty."""
        while True:
            kwargs: dict[str, Any] = {"console": self.console}
            if default is not None:
                kwargs["default"] = default
            elif optional:
                kwargs["default"] = ""
                kwargs["show_default"] = False
            try:
                answer = str(Prompt.ask(question, **kwargs)).strip()
            except EOFError:
                raise UserError(f"no answer to {question!r} (stdin closed)",
                                "answer every question, or give flags with "
                                "--non-interactive") from None
            if not answer and optional:
                return ""
            problem = "is empty" if not answer else (check(answer) if check else None)
            if problem is None:
                return answer
            self.console.print(f"[red]{escape(answer)} {escape(problem)}[/]")

    def choice(self, question: str, choices: tuple[str, ...], default: str) -> str:
        return self.text(f"{question} ({'/'.join(choices)})",
                         lambda a: None if a in choices else f"is not one of {choices}",
                         default=default)

    def yes(self, question: str, default: bool) -> bool:
        try:
            return bool(Confirm.ask(question, default=default, console=self.console))
        except EOFError:
            raise UserError(f"no answer to {question!r} (stdin closed)",
                            "answer every question, or give flags with --non-interactive"
                            ) from None


def _check_domain(value: str) -> str | None:
    return initinv.domain_problem(value)


def _check_host(value: str) -> str | None:
    probe = InventorySettings(domain="x.example", host=value, key=Path("/"))
    for err in initinv.validate_settings(probe):
        if err.message.startswith("host "):
            return f": {err.message} ({err.fix})"
    return None


def _check_port(value: str) -> str | None:
    return None if value.isdigit() and 0 < int(value) < 65536 else "is not a TCP port (1-65535)"


def _check_user(value: str) -> str | None:
    probe = InventorySettings(domain="x.example", host="192.0.2.1", key=Path("/"), user=value)
    for err in initinv.validate_settings(probe):
        if err.message.startswith("login user"):
            return f": {err.message} ({err.fix})"
    return None


def _check_key(value: str) -> str | None:
    problems = initinv.key_problems(Path(value))
    return f": {problems[0]}" if problems else None


def _check_cidrs(value: str) -> str | None:
    for item in _split(value):
        problem = initinv.cidr_problem(item)
        if problem:
            return f": {item} {problem}"
    return None


def _check_file(value: str) -> str | None:
    return None if Path(os.path.expanduser(value)).is_file() else ": no such file"


def _check_ip(value: str) -> str | None:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return "is not an IP address"
    return None


def _split(value: str) -> list[str]:
    return [item for item in value.replace(",", " ").split() if item]


def ask(flags: Flags, console: Console) -> InventorySettings:
    """Interactive: ask what the flags did not give."""
    q = _Asker(console)
    f = flags
    console.print("[bold]jitsi-sovereign init[/]: a few questions, then the inventory is "
                  "written (nothing is written before every answer is valid).")
    domain = f.domain or q.text("Meeting address (DNS name, e.g. meet.example.fr)", _check_domain)
    host = f.host or q.text("The VM's public address (IP, or a name that resolves)", _check_host)
    user = f.user or q.text("Login user (with sudo)", _check_user, default="debian")
    port = f.port if f.port is not None else int(q.text("SSH port", _check_port, default="22"))
    default_key = next((k for k in DEFAULT_KEYS if Path(os.path.expanduser(k)).is_file()), None)
    key = f.key or Path(q.text("SSH private key", _check_key, default=default_key))
    if f.admin_cidrs:
        admin = list(f.admin_cidrs)
    else:
        detected = detected_admin_cidr(host, port)
        if detected is None:
            console.print("[yellow]The address you connect from is not known here (behind "
                          "NAT?): the default keeps SSH open to every address.[/]")
        answer = q.text("Networks allowed to reach SSH (comma-separated)", _check_cidrs,
                        default=detected or ", ".join(ALL_OPEN))
        admin = _split(answer)
        if sorted(admin) == sorted(ALL_OPEN):
            admin = []  # the firewall role's default: left commented
    auth = f.auth or q.choice("Who opens rooms", initinv.AUTH_MODES, default="internal")
    over: dict[str, Any] = {}
    if auth == "ldap":
        over["ldap_url"] = f.ldap_url or q.text(
            "LDAP URL (ldaps://host, or ldap://host with StartTLS)",
            lambda a: None if a.startswith(("ldaps://", "ldap://")) else "is not an LDAP URL")
        over["ldap_base"] = f.ldap_base or q.text("LDAP base DN (e.g. ou=people,dc=example,dc=fr)")
        over["ldap_bind_dn"] = f.ldap_bind_dn or q.text(
            "LDAP bind DN (empty: anonymous search)", optional=True) or None
    if auth == "token":
        app_id = f.jwt_app_id or q.text("JWT application id (the tokens' iss)",
                                        default="jitsi-sovereign")
        over["jwt_app_id"] = None if app_id == "jitsi-sovereign" else app_id
    guests = f.guests if f.guests is not None else q.yes(
        "Guests may join open rooms without an account", default=True)
    tls = f.tls or q.choice("Certificate", initinv.TLS_MODES, default="acme")
    if tls == "acme" and f.tls is None:
        directory = f.acme_directory or q.text("ACME directory", default=initinv.LETS_ENCRYPT)
        over["acme_directory"] = None if directory == initinv.LETS_ENCRYPT else directory
        if over["acme_directory"] is not None and f.acme_ca is None:
            ca = q.text("PEM file of the ACME server's HTTPS CA (empty: system trust)",
                        _check_file, optional=True)
            over["acme_ca"] = Path(ca) if ca else None
        if f.acme_email is None:
            over["acme_email"] = q.text("E-mail for the CA's expiry warnings (empty: none)",
                                        optional=True) or None
    if tls == "provided":
        over["tls_cert"] = f.tls_cert or Path(q.text("Certificate file (PEM)", _check_file))
        over["tls_chain"] = f.tls_chain or (Path(c) if (c := q.text(
            "Intermediate chain file (empty: none)", _check_file, optional=True)) else None)
        over["tls_key"] = f.tls_key or Path(q.text("Certificate's key file (PEM)", _check_file))
    hosting = _hosting(f)
    given = any(getattr(f, k) is not None for k in
                ("provider", "region", "country", "jurisdiction", "certification"))
    if not given:
        console.print("Hosting facts, shown as declared in verify's report (empty: not "
                      "declared).")
        for fact, question, default in (
                ("provider", "Hosting provider (e.g. OVHcloud, Scaleway, Outscale)", None),
                ("region", "Region or datacenter (e.g. fr-par-2, GRA)", None),
                ("country", "Country", initinv.FRENCH_HOSTING["country"]),
                ("jurisdiction", "Jurisdiction", initinv.FRENCH_HOSTING["jurisdiction"]),
                ("certification", "Certification (e.g. ISO/IEC 27001, SecNumCloud)", None)):
            answer = q.text(question, default=default, optional=default is None)
            if answer:
                hosting[fact] = answer
    if f.private_ip is None and f.public_ip is None and q.yes(
            "Is the VM behind 1:1 NAT (a private address, the public one mapped to it)",
            default=False):
        over["private_ip"] = q.text("The VM's private address", _check_ip)
        over["public_ip"] = q.text("Its public address", _check_ip)
    flags_now = Flags(**{**f.__dict__, "domain": domain, "host": host, "user": user,
                         "port": port, "key": key, "auth": auth, "guests": guests, "tls": tls})
    return _settings(flags_now, admin_cidrs=admin, hosting=hosting, **over)


def confirm_write(directory: Path, console: Console) -> bool:
    return _Asker(console).yes(f"Write the inventory into {directory}", default=True)
