"""Load an Ansible inventory and check what must be known before any host is touched.

The inventory is read by ansible-core's own InventoryManager, so what is
validated here is exactly what ``ansible-playbook`` will see. Checks:

* the inventory parses and holds at least one host (after ``--limit``);
* how ssh reaches each host: deploy's ssh command line (``ansible_ssh_command``) as
  OpenSSH resolves it with the user's ssh configuration (``sshroute``: HostName, User,
  Port, ProxyJump...); the first address this machine connects to resolves (the host's,
  or the first jump host's); the SSH key file exists; the port is a port;
* the connection is ``ssh`` (paramiko is deprecated in Ansible); for ``verify`` and
  ``users`` (``own_ssh``), which connect with their own SSH client, every SSH setting that
  client cannot honour is refused, named with its fix;
* every variable that starts with a role's prefix is declared in that role's
  ``meta/argument_specs.yml`` (a typo is named, with the closest real name),
  and has the declared type (checked by Ansible's own ArgumentSpecValidator);
* every ``*_cidrs`` variable and ``firewall_extra_rules[].sources`` holds
  network addresses (``192.0.2.0/24``), without host bits set;
* the project-wide ``jitsi_sovereign_*`` variables are known names.

Whether the meeting's settings hold together (auth mode, guest domain, NAT addresses,
LDAP URL, JWT secret length) is checked by the roles' preflights alone, on every run with
or without this CLI: each rule is written once, next to the role that needs it.

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

from jitsi_sovereign import paths, sshroute
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
    # How ssh reaches it (HostName, jump hosts, ProxyCommand, keys, known_hosts), as
    # OpenSSH resolves deploy's command line; None: straight to address:port.
    route: sshroute.Hop | None = None


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


# ------------------------------------------------------------------ project-wide names

# Project-wide variables (docs/design.md): not role-prefixed, shared by several roles.
LAB_PASSWORD_VAR = "jitsi_sovereign_lab_password"  # noqa: S105 - a variable name
# Declared hosting facts, shown in verify's report (never checked, never used by a role).
HOSTING_VAR = "jitsi_sovereign_hosting"
HOSTING_KEYS = ("provider", "region", "datacenter", "country", "jurisdiction",
                "certification", "contact", "notes")
PROJECT_VARIABLES = {
    "jitsi_sovereign_domain", "jitsi_sovereign_auth", "jitsi_sovereign_guests",
    "jitsi_sovereign_guest_domain", "jitsi_sovereign_public_ip", "jitsi_sovereign_private_ip",
    "jitsi_sovereign_secrets_dir", "jitsi_sovereign_tls_trust_store", LAB_PASSWORD_VAR,
    "jitsi_sovereign_sandbox_overrides",
    HOSTING_VAR,
}


def check_hosting(host: str, hv: dict[str, Any]) -> list[UserError]:
    """``jitsi_sovereign_hosting``: a mapping of known keys (all optional) to text."""
    value = hv.get(HOSTING_VAR)
    if value is None:
        return []
    example = "e.g. jitsi_sovereign_hosting: {provider: OVHcloud, region: GRA, country: France}"
    if not isinstance(value, dict):
        return [UserError(f"{host}: {HOSTING_VAR} is a {type(value).__name__}, not a mapping",
                          example)]
    errors: list[UserError] = []
    for key, item in value.items():
        if key not in HOSTING_KEYS:
            close = difflib.get_close_matches(str(key), HOSTING_KEYS, n=1, cutoff=0.6)
            errors.append(UserError(
                f"{host}: {HOSTING_VAR}.{key} is not a hosting fact",
                f"did you mean {close[0]}?" if close else
                f"the facts are {', '.join(HOSTING_KEYS)}"))
        elif item is not None and not isinstance(item, str | int | float):
            errors.append(UserError(f"{host}: {HOSTING_VAR}.{key} must be text",
                                    f"write it as one line, {example}"))
    return errors


def check_project_names(host: str, hv: dict[str, Any]) -> list[UserError]:
    """Every ``jitsi_sovereign_*`` variable is a known name (a typo is named, with the
    closest real name). Whether the meeting's settings hold together is the roles'
    preflights' business: they check it on every run, with or without this CLI."""
    errors: list[UserError] = []
    for name in hv:
        if name.startswith("jitsi_sovereign_") and name not in PROJECT_VARIABLES:
            close = difflib.get_close_matches(name, sorted(PROJECT_VARIABLES), n=1, cutoff=0.6)
            errors.append(UserError(
                f"{host}: unknown variable {name}",
                f"did you mean {close[0]}?" if close else
                "the project-wide variables are listed in docs/design.md"))
    return errors


# ------------------------------------------------------------------ connection


def _resolves(address: str) -> bool:
    try:
        socket.getaddrinfo(address, None)
    except (socket.gaierror, UnicodeError):
        return False
    return True


def ansible_ssh_command(name: str, hv: dict[str, Any],
                        key_file: Path | None = None) -> tuple[str, list[str], str]:
    """(executable, options, host) of the ssh command deploy runs for this host.

    The options are those Ansible's ssh connection puts on its command line, in its order
    (``_build_command``: ssh_args, StrictHostKeyChecking=no when host_key_checking is off,
    Port, IdentityFile, the password switches, User, ConnectTimeout, ssh_common_args,
    ssh_extra_args, NumberOfPasswordPrompts), from the same settings: the inventory
    variables, ansible.cfg and ANSIBLE_* variables, read by the plugin's own option
    resolution. Left out: the ControlPath and the remote command, which do not change
    where ssh connects. ``key_file``: the inventory's private key file, already resolved
    against the inventory dir (else the one ansible.cfg or ANSIBLE_PRIVATE_KEY_FILE names).
    """
    from ansible.playbook.play_context import PlayContext
    from ansible.plugins.loader import connection_loader

    conn = connection_loader.get("ssh", PlayContext(), None)
    conn.set_options(var_options=hv)
    option = conn.get_option
    args = shlex.split(option("ssh_args") or "")
    if option("host_key_checking") is False:
        args += ["-o", "StrictHostKeyChecking=no"]
    if option("port") is not None:
        args += ["-o", f"Port={option('port')}"]
    key = key_file or option("private_key_file")
    if key:
        args += ["-o", f'IdentityFile="{os.path.expanduser(str(key))}"']
    if not option("password"):
        args += ["-o", "KbdInteractiveAuthentication=no",
                 "-o", "PreferredAuthentications=gssapi-with-mic,gssapi-keyex,hostbased,publickey",
                 "-o", "PasswordAuthentication=no"]
    if option("remote_user"):
        args += ["-o", f'User="{option("remote_user")}"']
    args += ["-o", f"ConnectTimeout={option('timeout')}"]
    for extra in ("ssh_common_args", "ssh_extra_args"):
        args += shlex.split(option(extra) or "")
    if option("password_mechanism") == "ssh_askpass":
        args += ["-o", "NumberOfPasswordPrompts=1"]
    return str(option("ssh_executable") or "ssh"), args, str(option("host") or name)


def _ansible_refusals(name: str, hv: dict[str, Any]) -> list[UserError]:
    """Connection variables deploy honours and the CLI's own SSH client cannot."""
    errors = []
    if hv.get("ansible_private_key") or hv.get("ansible_ssh_private_key"):
        errors.append(UserError(
            f"{name}: ansible_private_key (the key's text) cannot be used by verify and "
            "users: their SSH client reads keys from files",
            "save the key in a 0600 file and name it with ansible_ssh_private_key_file"))
    if hv.get("ansible_ssh_pkcs11_provider"):
        errors.append(UserError(
            f"{name}: ansible_ssh_pkcs11_provider cannot be used by verify and users: their "
            "SSH client cannot use a smartcard or token",
            "load the token's key into ssh-agent (ssh-add -s ...) and remove the variable"))
    connection = str(hv.get("ansible_connection") or "ssh")
    if connection not in ("ssh", "smart", "paramiko"):
        errors.append(UserError(
            f"{name}: ansible_connection={connection}: verify and users reach hosts over SSH",
            "remove ansible_connection (the default is ssh)"))
    return errors


def host_spec(name: str, hv: dict[str, Any], base_dir: Path, *,
              own_ssh: bool = False) -> tuple[HostSpec, list[UserError]]:
    """Connection details of one host, and what is wrong with them.

    ``own_ssh``: the caller connects with its own SSH client (verify, users), so the
    settings that client cannot honour are errors too.
    """
    errors: list[UserError] = []
    port_raw = hv.get("ansible_port", hv.get("ansible_ssh_port", 22))
    try:
        port = int(port_raw)
        if not 0 < port < 65536:
            raise ValueError
    except (TypeError, ValueError):
        errors.append(UserError(f"{name}: ansible_port={port_raw!r} is not a TCP port",
                                "give a number between 1 and 65535"))
        port = 22
        hv = {k: v for k, v in hv.items() if k not in ("ansible_port", "ansible_ssh_port")}

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

    route = None
    if connection in ("ssh", "smart"):
        from ansible.errors import AnsibleError

        host = str(hv.get("ansible_host") or name)
        try:
            executable, args, host = ansible_ssh_command(name, hv, key_file)
            route = sshroute.resolve(host, args, executable)
        except (sshroute.SshConfigError, AnsibleError) as exc:  # ssh's or Ansible's words
            errors.append(UserError(
                f"{name}: ssh cannot tell how it would connect to {host}: {exc}",
                "correct ansible_ssh_common_args / ansible_ssh_extra_args, or your ssh "
                "configuration (~/.ssh/config, or the file given with -F)"))
    if route is not None:
        first = sshroute.first_address(route)
        if first is not None and not _resolves(first):
            if first == route.hostname:
                errors.append(UserError(
                    f"{name}: address {first!r} does not resolve",
                    f"create its DNS record, or set ansible_host: <IP address> for {name}"))
            else:
                errors.append(UserError(
                    f"{name}: jump host address {first!r} does not resolve",
                    "correct the ProxyJump in ansible_ssh_common_args or in your ssh "
                    "configuration"))
    if own_ssh:
        errors.extend(_ansible_refusals(name, hv))
        if route is not None:
            errors.extend(UserError(f"{name}: {problem}", fix)
                          for problem, fix in sshroute.refusals(route))

    become = bool(hv.get("ansible_become", False))
    if route is None:  # not an ssh connection (refused above for verify and users)
        address = str(hv.get("ansible_host") or name)
        user = str(hv.get("ansible_user") or hv.get("ansible_ssh_user") or "root")
        spec = HostSpec(name=name, address=address, port=port, user=user, key_file=key_file,
                        become=become, vars=hv)
        return spec, errors
    spec = HostSpec(name=name, address=route.hostname, port=route.port, user=route.user,
                    key_file=key_file or next(iter(route.identity_files), None),
                    become=become, known_hosts=route.user_known_hosts, vars=hv, route=route)
    return spec, errors


# ------------------------------------------------------------------ entry point


def _load(path: Path):
    # The configuration deploy runs with (runner.py gives ansible-playbook the same): its
    # ssh_args, remote_user, timeout... shape the ssh command line read in host_spec.
    os.environ["ANSIBLE_CONFIG"] = str(paths.ansible_dir() / "ansible.cfg")
    from ansible import constants as C
    from ansible.errors import AnsibleError
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import init_plugin_loader
    from ansible.utils.collection_loader import AnsibleCollectionConfig
    from ansible.utils.display import Display
    from ansible.vars.manager import VariableManager

    C.INVENTORY_ANY_UNPARSED_IS_FAILED = True
    if AnsibleCollectionConfig.collection_finder is None:
        # As ansible-playbook starts: plugins by their full names (the lab inventory's
        # lookup('ansible.builtin.file', ...)), the project's collection first.
        init_plugin_loader([str(paths.collections_dir())])
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
                      limit: str | None = None, *, own_ssh: bool = False) -> Inventory:
    """Read the inventory; raise ValidationErrors listing every problem found.

    ``own_ssh``: for verify and users, which connect with their own SSH client: the SSH
    settings that client cannot honour are refused too, and the lab password (a lookup in
    the lab's inventory) is read.
    """
    path = Path(path)
    if not path.exists():
        raise UserError(f"inventory {path} does not exist",
                        "write one with `jitsi-sovereign init DIR` and give DIR/hosts.yml with -i")
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
        wanted = {k: v for k, v in hv.items()
                  if k.startswith("ansible_") or k == HOSTING_VAR
                  or (own_ssh and k == LAB_PASSWORD_VAR)}
        try:
            wanted = templar.template(wanted)
        except Exception as exc:  # an undefined variable in the inventory itself
            errors.append(UserError(f"{host.name}: cannot resolve connection variables: {exc}",
                                    "define the variables they refer to"))
        hv.update(wanted)
        spec, host_errors = host_spec(host.name, _to_plain(hv), base_dir, own_ssh=own_ssh)
        errors.extend(host_errors)
        errors.extend(check_role_variables(host.name, hv, specs))
        errors.extend(check_networks(host.name, hv))
        errors.extend(check_project_names(host.name, hv))
        errors.extend(check_hosting(host.name, _to_plain(hv)))
        result.append(spec)
    if errors:
        raise ValidationErrors(errors)
    return Inventory(path=path, hosts=result, limit=limit)
