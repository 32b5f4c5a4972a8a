"""Load an Ansible inventory and validate it before any host is touched.

The inventory is read by ansible-core's own InventoryManager, so what is
validated here is exactly what ``ansible-playbook`` will see. Checks:

* the inventory parses and holds at least one host (after ``--limit``);
* every host's address resolves; its SSH key file exists; its port is a port;
* the connection is ``ssh`` (paramiko is deprecated in Ansible);
* every variable that starts with a role's prefix is declared in that role's
  ``meta/argument_specs.yml`` (a typo is named, with the closest real name),
  and has the declared type (checked by Ansible's own ArgumentSpecValidator);
* every ``*_cidrs`` variable and ``firewall_extra_rules[].sources`` holds
  network addresses (``192.0.2.0/24``), without host bits set;
* the project-wide ``jitsi_sovereign_*`` variables are known names, and the meeting's
  settings hold together: a known auth mode, a guest domain that is not the main
  domain, both NAT addresses or neither (the public one public), LDAP over TLS only, a JWT
  secret of 32 characters or more (the roles' preflights check the same on the host side,
  for runs without the CLI).

All problems are collected and reported together.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import ipaddress
import os
import shlex
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from jitsi_sovereign import paths
from jitsi_sovereign.errors import UserError, ValidationErrors


@dataclass
class HostSpec:
    """How to reach one host, from its inventory variables."""

    name: str
    address: str
    port: int = 22
    user: str = "root"
    key_file: Path | None = None
    become: bool = False
    known_hosts: Path | None = None
    vars: dict[str, Any] = field(default_factory=dict)


@dataclass
class Inventory:
    path: Path
    hosts: list[HostSpec]
    limit: str | None = None


# ------------------------------------------------------------------ role specs


@functools.cache
def role_specs(roles_dir: Path | None = None) -> dict[str, dict[str, dict]]:
    """{role: {option: spec}} from every role's meta/argument_specs.yml (entry point main)."""
    roles_dir = roles_dir or paths.roles_dir()
    specs: dict[str, dict[str, dict]] = {}
    for spec_file in sorted(roles_dir.glob("*/meta/argument_specs.yml")):
        data = yaml.safe_load(spec_file.read_text()) or {}
        entry = (data.get("argument_specs") or {}).get("main") or {}
        specs[spec_file.parent.parent.name] = entry.get("options") or {}
    return specs


def _is_templated(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _to_plain(value: Any) -> Any:
    """Ansible's tagged containers -> plain Python (for the validator and messages)."""
    if isinstance(value, dict):
        return {str(k): _to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_plain(v) for v in value]
    if isinstance(value, bool | int | float) or value is None:
        return value
    return str(value) if isinstance(value, str) else value


def check_role_variables(host: str, variables: dict[str, Any],
                         specs: dict[str, dict[str, dict]]) -> list[UserError]:
    """Unknown role-prefixed variables and values of the wrong type."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    errors: list[UserError] = []
    for name, value in variables.items():
        for role, options in specs.items():
            prefix = f"{role}_"
            if name.startswith("_" + prefix):
                errors.append(UserError(
                    f"{host}: {name} is internal to role {role} and cannot be set",
                    f"remove {name} from the inventory"))
                break
            if not name.startswith(prefix):
                continue
            if name not in options:
                close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
                fix = (f"did you mean {close[0]}?" if close
                       else f"see roles/{role}/defaults/main.yml for the variables of {role}")
                errors.append(UserError(f"{host}: unknown variable {name} (role {role})", fix))
                break
            if _is_templated(value):
                break
            spec = {name: dict(options[name])}
            spec[name].pop("default", None)
            spec[name].pop("required", None)
            result = ArgumentSpecValidator(spec).validate({name: _to_plain(value)})
            for err in result.error_messages:
                errors.append(UserError(
                    f"{host}: {name}={_to_plain(value)!r} is not valid: {err}",
                    f"give {name} a value of type {options[name].get('type', 'str')}"
                    + (f" (one of {options[name]['choices']})" if "choices" in options[name]
                       else "")))
            break
    return errors


def check_networks(host: str, variables: dict[str, Any]) -> list[UserError]:
    """``*_cidrs`` lists and firewall extra rule sources must be networks."""
    found: list[tuple[str, Any]] = []
    for name, value in variables.items():
        if name.endswith("_cidrs") and not _is_templated(value):
            found.extend((name, v) for v in (value if isinstance(value, list) else [value]))
    for i, rule in enumerate(variables.get("firewall_extra_rules") or []):
        if isinstance(rule, dict):
            found.extend((f"firewall_extra_rules[{i}].sources", v)
                         for v in rule.get("sources") or [])
    errors = []
    for name, raw in found:
        text = str(_to_plain(raw))
        try:
            ipaddress.ip_network(text, strict=True)
        except ValueError:
            fix = "write a network such as 192.0.2.0/24 or 2001:db8::/32"
            with contextlib.suppress(ValueError):
                fix = f"did you mean {ipaddress.ip_network(text, strict=False)}?"
            errors.append(UserError(f"{host}: {name}: {text!r} is not a network address", fix))
    return errors


# ------------------------------------------------------------------ the meeting's settings

# Project-wide variables (docs/design.md): not role-prefixed, shared by several roles.
PROJECT_VARIABLES = {
    "jitsi_sovereign_domain", "jitsi_sovereign_auth", "jitsi_sovereign_guests",
    "jitsi_sovereign_guest_domain", "jitsi_sovereign_public_ip", "jitsi_sovereign_private_ip",
    "jitsi_sovereign_secrets_dir", "jitsi_sovereign_tls_trust_store",
}
AUTH_MODES = ("internal", "token", "ldap")
JWT_SECRET_MIN = 32


def _plain_str(value: Any) -> str | None:
    """The value as text, or None when it is templated or vault-encrypted (checked later,
    on the host side, by the role's preflight)."""
    if value is None or _is_templated(value):
        return None
    try:
        return str(value)
    except Exception:  # a vault value without its password
        return None


def _ip(host: str, name: str, text: str, errors: list[UserError]):
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        errors.append(UserError(f"{host}: {name}={text!r} is not an IP address",
                                f"give {name} an address such as 203.0.113.10"))
        return None


def check_stack(host: str, hv: dict[str, Any]) -> list[UserError]:
    """The meeting's settings that span several roles, before any host is touched."""
    errors: list[UserError] = []
    for name in hv:
        if name.startswith("jitsi_sovereign_") and name not in PROJECT_VARIABLES:
            close = difflib.get_close_matches(name, sorted(PROJECT_VARIABLES), n=1, cutoff=0.6)
            errors.append(UserError(
                f"{host}: unknown variable {name}",
                f"did you mean {close[0]}?" if close else
                "the project-wide variables are listed in docs/design.md"))
    auth = _plain_str(hv.get("prosody_auth", hv.get("jitsi_sovereign_auth", "internal")))
    if auth is not None and auth not in AUTH_MODES:
        name = "prosody_auth" if "prosody_auth" in hv else "jitsi_sovereign_auth"
        errors.append(UserError(f"{host}: {name}={auth!r} is not an authentication mode",
                                f"use one of {', '.join(AUTH_MODES)}"))
    domain = _plain_str(hv.get("jitsi_sovereign_domain"))
    for name in ("jitsi_sovereign_guest_domain", "prosody_guest_domain"):
        guest = _plain_str(hv.get(name))
        if domain and guest and guest.lower().rstrip(".") == domain.lower().rstrip("."):
            errors.append(UserError(
                f"{host}: {name}={guest!r} is the main domain: guests would log in "
                "anonymously where rooms are opened",
                f"use another name, e.g. guest.{domain} (the default)"))
    public = _plain_str(hv.get("jitsi_sovereign_public_ip"))
    private = _plain_str(hv.get("jitsi_sovereign_private_ip"))
    public_ip = _ip(host, "jitsi_sovereign_public_ip", public, errors) if public else None
    private_ip = _ip(host, "jitsi_sovereign_private_ip", private, errors) if private else None
    if private and not public:
        errors.append(UserError(
            f"{host}: jitsi_sovereign_private_ip={private!r} (behind NAT) without "
            "jitsi_sovereign_public_ip: the videobridge and coturn could not tell clients "
            "where to send media",
            "set jitsi_sovereign_public_ip to the VM's public (floating) address"))
    if public and not private:
        errors.append(UserError(
            f"{host}: jitsi_sovereign_public_ip={public!r} without jitsi_sovereign_private_ip: "
            "the NAT mapping needs both addresses",
            "add jitsi_sovereign_private_ip (the VM's own address that the public one maps to), "
            "or remove jitsi_sovereign_public_ip when the VM holds its public address itself"))
    if public_ip is not None and not public_ip.is_global:
        errors.append(UserError(
            f"{host}: jitsi_sovereign_public_ip={public!r} is not a public address",
            "give the address clients reach from the Internet (your host's panel shows it)"))
    if private_ip is not None and public_ip is not None and private_ip == public_ip:
        errors.append(UserError(
            f"{host}: jitsi_sovereign_private_ip equals jitsi_sovereign_public_ip",
            "remove jitsi_sovereign_private_ip when the VM has its public address itself"))
    if auth == "ldap":
        url = _plain_str(hv.get("prosody_ldap_url"))
        if not url and "prosody_ldap_url" not in hv:
            errors.append(UserError(f"{host}: authentication ldap without prosody_ldap_url",
                                    "set prosody_ldap_url: ldaps://ldap.example.org"))
        elif url and url.startswith("ldap://") and not hv.get("prosody_ldap_starttls"):
            errors.append(UserError(
                f"{host}: prosody_ldap_url={url!r} sends passwords in clear text",
                "use ldaps://... or set prosody_ldap_starttls: true"))
        elif url and not url.startswith(("ldap://", "ldaps://")):
            errors.append(UserError(f"{host}: prosody_ldap_url={url!r} is not an LDAP URL",
                                    "write ldaps://host[:port]"))
    secret = _plain_str(hv.get("prosody_jwt_secret"))
    if auth == "token" and secret and len(secret) < JWT_SECRET_MIN:
        errors.append(UserError(
            f"{host}: prosody_jwt_secret is {len(secret)} characters long "
            f"(at least {JWT_SECRET_MIN})",
            "leave it unset to have one generated, or put a longer one in your vault file"))
    return errors


# ------------------------------------------------------------------ connection


def _option_from_ssh_args(args: str, option: str) -> str | None:
    """Value of ``-o Option=value`` / ``-o Option value`` in an ssh argument string."""
    words = shlex.split(args or "")
    for i, word in enumerate(words):
        candidate = None
        if word == "-o" and i + 1 < len(words):
            candidate = words[i + 1]
        elif word.startswith("-o") and len(word) > 2:
            candidate = word[2:]
        if candidate:
            key, _, val = candidate.replace("=", " ", 1).partition(" ")
            if key.lower() == option.lower():
                return val.strip()
    return None


def _resolves(address: str) -> bool:
    try:
        socket.getaddrinfo(address, None)
    except (socket.gaierror, UnicodeError):
        return False
    return True


def host_spec(name: str, hv: dict[str, Any], base_dir: Path) -> tuple[HostSpec, list[UserError]]:
    """Connection details of one host, and what is wrong with them."""
    errors: list[UserError] = []
    address = str(hv.get("ansible_host") or name)
    if not _resolves(address):
        errors.append(UserError(
            f"{name}: address {address!r} does not resolve",
            f"create its DNS record, or set ansible_host: <IP address> for {name}"))

    port_raw = hv.get("ansible_port", hv.get("ansible_ssh_port", 22))
    try:
        port = int(port_raw)
        if not 0 < port < 65536:
            raise ValueError
    except (TypeError, ValueError):
        errors.append(UserError(f"{name}: ansible_port={port_raw!r} is not a TCP port",
                                "give a number between 1 and 65535"))
        port = 22

    connection = str(hv.get("ansible_connection") or "ssh")
    if connection == "paramiko":
        errors.append(UserError(
            f"{name}: ansible_connection=paramiko is deprecated in Ansible (removed in 2.21)",
            "remove ansible_connection (the default is ssh)"))

    key_file = None
    raw_key = hv.get("ansible_ssh_private_key_file") or hv.get("ansible_private_key_file")
    if raw_key:
        key_file = Path(os.path.expanduser(str(raw_key)))
        if not key_file.is_absolute():
            key_file = (base_dir / key_file).resolve()
        if not key_file.is_file():
            errors.append(UserError(
                f"{name}: SSH key file {key_file} does not exist",
                "set ansible_ssh_private_key_file to your private key "
                "(ssh-keygen -t ed25519 makes one)"))

    ssh_args = " ".join(str(hv.get(k) or "") for k in
                        ("ansible_ssh_common_args", "ansible_ssh_extra_args"))
    known = _option_from_ssh_args(ssh_args, "UserKnownHostsFile")
    known_hosts = Path(os.path.expanduser(known.split()[0])) if known else None
    if known_hosts is None:
        default = Path.home() / ".ssh" / "known_hosts"
        known_hosts = default if default.exists() else None

    user = str(hv.get("ansible_user") or hv.get("ansible_ssh_user") or "root")
    become = bool(hv.get("ansible_become", False))
    spec = HostSpec(name=name, address=address, port=port, user=user, key_file=key_file,
                    become=become, known_hosts=known_hosts, vars=hv)
    return spec, errors


# ------------------------------------------------------------------ entry point


def _load(path: Path):
    from ansible import constants as C
    from ansible.errors import AnsibleError
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.utils.display import Display
    from ansible.vars.manager import VariableManager

    C.INVENTORY_ANY_UNPARSED_IS_FAILED = True
    loader = DataLoader()
    warnings: list[str] = []
    original = Display.error_as_warning
    # Ansible explains why a source did not parse only in warnings: keep them for the error.
    Display.error_as_warning = (  # type: ignore[method-assign]
        lambda self, msg, exception, *a, **k: warnings.append(f"{msg}\n{exception}"))
    try:
        manager = InventoryManager(loader=loader, sources=[str(path)])
    except AnsibleError as exc:
        raise UserError(f"inventory {path} cannot be read: {_parse_reason(path, warnings, exc)}",
                        "compare it with inventories/example/hosts.yml") from None
    finally:
        Display.error_as_warning = original  # type: ignore[method-assign]
    return loader, manager, VariableManager(loader=loader, inventory=manager)


def _parse_reason(path: Path, warnings: list[str], exc: Exception) -> str:
    """The most telling of Ansible's per-plugin parse failures for this kind of file."""
    plugin = "'yaml' plugin" if path.suffix in (".yml", ".yaml") else "'ini' plugin"
    for text in warnings:
        if plugin in text:
            lines = [ln.strip() for ln in text.splitlines()[1:] if ln.strip()]
            return lines[0] if lines else text
    return str(exc).strip().splitlines()[0]


def load_and_validate(path: Path | str, extra_vars: dict | None = None,
                      limit: str | None = None) -> Inventory:
    """Read the inventory; raise ValidationErrors listing every problem found."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"inventory {path} does not exist",
                        "copy inventories/example/ and give its hosts.yml with -i")
    loader, manager, variables = _load(path)
    if limit:
        manager.subset(limit)
    hosts = manager.get_hosts("all")
    if not hosts:
        where = f" matching --limit {limit}" if limit else ""
        raise UserError(f"inventory {path} has no host{where}",
                        "add your server under 'hosts:' (see inventories/example/hosts.yml)")

    from ansible.template import Templar

    specs = role_specs()
    base_dir = path if path.is_dir() else path.parent
    errors: list[UserError] = []
    result: list[HostSpec] = []
    for host in hosts:
        hv = dict(variables.get_vars(host=host))
        hv.update(extra_vars or {})
        templar = Templar(loader=loader, variables=hv)
        connection_vars = {k: v for k, v in hv.items() if k.startswith("ansible_")}
        try:
            connection_vars = templar.template(connection_vars)
        except Exception as exc:  # an undefined variable in the inventory itself
            errors.append(UserError(f"{host.name}: cannot resolve connection variables: {exc}",
                                    "define the variables they refer to"))
        hv.update(connection_vars)
        spec, host_errors = host_spec(host.name, _to_plain(hv), base_dir)
        errors.extend(host_errors)
        errors.extend(check_role_variables(host.name, hv, specs))
        errors.extend(check_networks(host.name, hv))
        errors.extend(check_stack(host.name, hv))
        result.append(spec)
    if errors:
        raise ValidationErrors(errors)
    return Inventory(path=path, hosts=result, limit=limit)
