"""What every cloud provider (and DNS provider) implements, the registry, and the checks
shared by all of them.

A provider module must not import its SDK at module level: `cloud create --dry-run` and
`cloud regions` read the class attributes (name, default_size, login_note,
plan_resources) without the SDK installed; the constructor imports it and says which extra
to install when it is missing.
"""

from __future__ import annotations

import base64
import binascii
import importlib
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from jitsi_sovereign.cloud.model import DNS_CHOICES, CreateRequest, Resource, Server
from jitsi_sovereign.errors import UserError

if TYPE_CHECKING:
    from jitsi_sovereign.cloud.engine import Plan
    from jitsi_sovereign.cloud.state import State

MIN_MEMORY_GB = 4   # a videobridge with a few participants; less fails in odd ways


@runtime_checkable
class Provider(Protocol):
    name: str
    default_size: str
    login_note: str     # the provider's own login user/habit, shown in the plan

    @classmethod
    def plan_resources(cls, req: CreateRequest) -> list[tuple[str, str]]:
        """(kind, description) of each resource create() makes, in order; no network."""
        ...

    # Optional: a classmethod group_rules(rules) -> rules giving the plan's rules as the
    # provider's group can hold them (Outscale: IPv4 sources only); the plan, the state and
    # `status` then all use that form.

    def check(self, req: CreateRequest) -> list[UserError]:
        """Everything refusable before a creating call: credentials present (the message
        names the env variables / config file), region allowed and in the live list, size
        known with >= 4 GB (live list), the Debian 13 image found, the name not taken, the
        public key not a private key. Read-only calls only."""
        ...

    def create(self, req: CreateRequest, plan: Plan,
               record: Callable[[Resource], None]) -> Server:
        """Create the resources; call record() right after each one exists."""
        ...

    def delete(self, res: Resource) -> None:
        """Delete one resource; already gone is fine."""
        ...

    def status(self, state: State) -> dict[str, Any]:
        """{server: {state, public_ipv4, public_ipv6, ...} or None, rules: [Rule] live
        inbound rules of our group, groups: [ids of every group attached to the server]}"""
        ...

    def residue(self, name: str) -> list[Resource]:
        """Resources still tagged jitsi-sovereign=<name>."""
        ...


@runtime_checkable
class DnsProvider(Protocol):
    name: str

    def check(self, req: CreateRequest) -> list[UserError]:
        """Credentials present, the zone holding req.domain held by this account."""
        ...

    def create_record(self, req: CreateRequest, server: Server) -> Resource:
        """The A (and AAAA when the server has IPv6) record(s) of req.domain."""
        ...

    def delete(self, res: Resource) -> None:
        ...

    def status(self, res: Resource) -> dict[str, Any]:
        ...


# name -> (module, class, pip extra).
PROVIDERS: dict[str, tuple[str, str, str]] = {
    "scaleway": ("jitsi_sovereign.cloud.scaleway", "ScalewayProvider", "scaleway"),
    "ovh": ("jitsi_sovereign.cloud.ovh", "OvhProvider", "ovh"),
    "outscale": ("jitsi_sovereign.cloud.outscale", "OutscaleProvider", "outscale"),
}
DNS_PROVIDERS: dict[str, tuple[str, str, str]] = {
    "scaleway": ("jitsi_sovereign.cloud.scaleway", "ScalewayDns", "scaleway"),
    "ovh": ("jitsi_sovereign.cloud.ovh", "OvhDns", "ovh"),
    "gandi": ("jitsi_sovereign.cloud.gandi", "GandiDns", "gandi"),
}


def _load(table: dict, name: str, what: str):
    if name not in table:
        raise UserError(f"{what} {name!r} is not available",
                        f"choose one of: {', '.join(table)}")
    module, cls, _extra = table[name]
    try:
        return getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError):
        raise UserError(f"{what} {name!r} is not available in this version",
                        f"choose one of the delivered ones: {', '.join(delivered(table))}") \
            from None


def delivered(table: dict) -> list[str]:
    out = []
    for name, (module, _cls, _extra) in table.items():
        try:
            importlib.import_module(module)
            out.append(name)
        except ImportError:
            pass
    return out


def provider_class(name: str) -> type:
    return _load(PROVIDERS, name, "provider")


def make_provider(name: str, **kwargs: Any) -> Provider:
    return provider_class(name)(**kwargs)


def make_dns(name: str, **kwargs: Any) -> DnsProvider | None:
    if name == "none":
        return None
    if name not in DNS_CHOICES:
        raise UserError(f"--dns {name!r} is not known", f"choose one of: {', '.join(DNS_CHOICES)}")
    return _load(DNS_PROVIDERS, name, "DNS provider")(**kwargs)


def missing_sdk(extra: str, module: str) -> UserError:
    return UserError(f"the {extra} SDK ({module}) is not installed",
                     f"pip install 'jitsi-sovereign[{extra}]'")


_KEY_TYPES = ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
              "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com",
              "sk-ecdsa-sha2-nistp256@openssh.com")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$", re.IGNORECASE)


def public_key_problem(text: str) -> str | None:
    """Why `text` is not one OpenSSH public key line (a private key says so), else None."""
    if "PRIVATE KEY" in text:
        return "it is a PRIVATE key: only its public half (the .pub file) may leave your machine"
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if len(lines) != 1:
        return "it is not one OpenSSH public key line"
    parts = lines[0].split()
    if len(parts) < 2 or parts[0] not in _KEY_TYPES:
        return f"it does not start with a key type ({', '.join(_KEY_TYPES[:3])}, ...)"
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        return "its key part is not base64"
    if not blob[4:].startswith(parts[0].encode()):
        return "its key part does not match its key type"
    return None


def common_checks(req: CreateRequest) -> list[UserError]:
    """The checks every provider runs first (no network). The engine also checks the
    inventory's settings (initinv.validate_settings: the private key file, the admin
    networks, the login user) before calling the provider."""
    problems: list[UserError] = []
    why = public_key_problem(req.ssh_public_key)
    if why:
        problems.append(UserError(f"the SSH public key given is refused: {why}",
                                  "--ssh-key ~/.ssh/id_ed25519.pub (make one with "
                                  "ssh-keygen -t ed25519)"))
    domain = req.domain.rstrip(".")
    if not ("." in domain and all(_LABEL.match(p) for p in domain.split("."))):
        problems.append(UserError(f"--domain {req.domain!r} is not a host name",
                                  "give the meeting's name, e.g. visio.mairie.fr"))
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", req.name):
        problems.append(UserError(f"--name {req.name!r}: lower case letters, digits, dashes",
                                  "e.g. --name jsov-visio"))
    if not req.admin_cidrs:
        problems.append(UserError("no admin network: SSH would be open to nobody",
                                  "--admin-cidr 192.0.2.0/24 (your admins' addresses)"))
    return problems
