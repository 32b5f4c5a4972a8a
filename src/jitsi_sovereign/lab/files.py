"""Text the lab writes: per-host config files, known_hosts, the inventory, ssh argv.

Pure functions (no I/O), so they are unit-tested without root.
"""

from __future__ import annotations

from pathlib import Path

import yaml

LAB_USER = "debian"
INVENTORY_GROUP = "meet"
ROLE_VAR = "os_hardening_unattended_upgrades_timers"


def secrets_dir(lab_dir: Path, name: str) -> Path:
    """Where the roles' secret lookup keeps a lab host's generated secrets: .secrets/<name>
    next to the lab inventory (docs/design.md "Secrets")."""
    return lab_dir / ".secrets" / name


def network_unit(address: str, prefixlen: int, gateway: str, match: str = "host0") -> str:
    """systemd-networkd config of a host's interface (static, no link-local): ``host0``
    in a container, ``en*`` in a VM (its virtio NIC)."""
    return (f"[Match]\nName={match}\n\n[Network]\n"
            f"Address={address}/{prefixlen}\nGateway={gateway}\n"
            "LinkLocalAddressing=no\nIPv6AcceptRA=no\n")


def apt_proxy_conf(proxy_url: str) -> str:
    """apt configuration pointing at the lab's apt-cacher-ng."""
    return ("// lab host: packages come through the lab's apt-cacher-ng on the bridge\n"
            f'Acquire::http::Proxy "{proxy_url}";\n')


def hosts_file(base: str, name: str) -> str:
    """``/etc/hosts`` of the image plus the host's own name on 127.0.1.1."""
    lines = [ln for ln in base.splitlines() if not ln.startswith("127.0.1.1")]
    return "\n".join([*lines[:1], f"127.0.1.1\t{name}", *lines[1:]]) + "\n"


def shadow_with_password(shadow: str, user: str, crypted: str) -> str:
    """``/etc/shadow`` with ``user``'s hash replaced by ``crypted``."""
    out, found = [], False
    for line in shadow.splitlines():
        fields = line.split(":")
        if fields[0] == user and len(fields) > 2:
            fields[1] = crypted
            line = ":".join(fields)
            found = True
        out.append(line)
    if not found:
        raise ValueError(f"user {user} is not in /etc/shadow")
    return "\n".join(out) + "\n"


def known_hosts_with(existing: str, address: str, public_key: str) -> str:
    """``known_hosts`` text with every older line for ``address`` replaced by one new line."""
    keep = []
    for line in existing.splitlines():
        hosts = line.split(None, 1)[0].split(",") if line.strip() else []
        if address in hosts or f"[{address}]:22" in hosts:
            continue
        keep.append(line)
    key = " ".join(public_key.split()[:2])  # type and base64, without the comment
    return "\n".join([*keep, f"{address} {key}"]) + "\n"


def known_hosts_without(existing: str, addresses: set[str]) -> str:
    """``known_hosts`` text without the lines of ``addresses``."""
    keep = [ln for ln in existing.splitlines()
            if not (ln.strip() and set(ln.split(None, 1)[0].split(",")) & addresses)]
    return "\n".join(keep) + ("\n" if keep else "")


def ssh_options(known_hosts: Path) -> list[str]:
    """The options that keep host key checking strict and use only the lab key."""
    return ["-o", f"UserKnownHostsFile={known_hosts}", "-o", "StrictHostKeyChecking=yes",
            "-o", "IdentitiesOnly=yes"]


def ssh_argv(address: str, identity: Path, known_hosts: Path, user: str = LAB_USER) -> list[str]:
    """``ssh`` command line to log in to a lab host as the lab user."""
    return ["ssh", "-i", str(identity), *ssh_options(known_hosts), f"{user}@{address}"]


# Inventory variables the lab sets for its ACME server, with the reason written above each.
TRUST_STORE_VAR = "jitsi_sovereign_tls_trust_store"
LAB_PASSWORD_VAR = "jitsi_sovereign_lab_password"  # noqa: S105 - a variable name
RENEW_VAR = "tls_acme_renew_before_days"
LAB_RENEW_BEFORE_DAYS = 30
_COMMENTS = {
    ROLE_VAR: ("The lab masks the apt-daily timers in its image, so they never take",
               "the dpkg lock mid-test: the role must not re-enable them."),
    "tls_mode": ("Certificates come from the lab's own ACME server (pebble on the bridge),",
                 "validated over HTTP-01 on each host's port 80, as Let's Encrypt would."),
    "tls_acme_directory_url": ("pebble's ACME directory (lab bridge address; lab hosts reach it,",
                               "nothing beyond the bridge does)."),
    "tls_acme_ca_bundle": ("pebble's own TLS certificate is signed by the lab's CA: certbot must",
                           "trust this bundle to talk to the ACME API."),
    RENEW_VAR: ("pebble issues 90-day certificates here, like Let's Encrypt: a re-run",
                "requests a new one only when fewer days than this are left."),
    "tls_acme_preflight_dns": ("The <host>.lab.test names exist only in pebble's mock DNS",
                               "(loopback of the lab machine): a lab host cannot resolve them."),
    "jitsi_packages_required": ("Jitsi's apt repository is out of the lab's reach: the Jitsi",
                                "files are rendered and parsed, the checks of its services say",
                                "SKIPPED and why."),
    TRUST_STORE_VAR: ("The issuing root of this pebble run (new at every pebble start): the",
                      "outside TLS checks verify the chain against it, not the system store."),
    LAB_PASSWORD_VAR: ("The lab user's password, read from its 0600 file when used: the outside",
                       "check \"SSH with a password is refused\" tries the real one."),
}


def password_lookup(hosts_dir: Path) -> str:
    """The lab password of each host as an inventory value: a file lookup (the password
    stays in ``<hosts_dir>/<host>/password``, the inventory only names it)."""
    path = f"'{hosts_dir}/' ~ inventory_hostname ~ '/password'"
    return "{{ lookup('ansible.builtin.file', " + path + ") }}"


def inventory_text(hosts: dict[str, str], identity: Path, known_hosts: Path,
                   acme=None, hosts_dir: Path | None = None,
                   base_only: frozenset[str] = frozenset()) -> str:
    """YAML inventory: group ``meet`` with the running hosts (name -> address).

    With ``acme`` (a ``lab.acme.AcmeInfo``) each host gets ``jitsi_sovereign_domain``
    ``<name>.<suffix>`` (so the TLS and nginx roles run) and the group the variables
    that make the TLS role use the lab's ACME server. With ``hosts_dir`` (the lab's
    ``hosts/``), the group names each host's lab password (``password_lookup``). Hosts
    in ``base_only`` get no domain: site.yml deploys the hardened base only there.
    """
    group_vars = {
        "ansible_user": LAB_USER,
        "ansible_port": 22,
        "ansible_ssh_private_key_file": str(identity),
        "ansible_become": True,
        "ansible_ssh_common_args": " ".join(ssh_options(known_hosts)),
        ROLE_VAR: False,
    }
    if hosts_dir is not None:
        group_vars[LAB_PASSWORD_VAR] = password_lookup(hosts_dir)
    host_vars: dict[str, dict] = {name: {"ansible_host": addr}
                                  for name, addr in sorted(hosts.items())}
    if acme is not None:
        for name in host_vars:
            if name not in base_only:
                host_vars[name]["jitsi_sovereign_domain"] = f"{name}.{acme.domain_suffix}"
        group_vars.update({
            "tls_mode": "acme",
            "tls_acme_directory_url": acme.directory_url,
            "tls_acme_ca_bundle": str(acme.ca_bundle),
            RENEW_VAR: LAB_RENEW_BEFORE_DAYS,
            "tls_acme_preflight_dns": False,
            "jitsi_packages_required": False,
            TRUST_STORE_VAR: str(acme.root),
        })
    body = {"all": {"children": {INVENTORY_GROUP: {"hosts": host_vars, "vars": group_vars}}}}
    text = yaml.safe_dump(body, sort_keys=False, default_flow_style=False, width=1000)
    out = []
    for line in text.splitlines():
        key = line.strip().split(":", 1)[0]
        if line.startswith("        ") and not line.startswith("         ") and key in _COMMENTS:
            out.extend(f"        # {c}" for c in _COMMENTS[key])
        out.append(line)
    return ("# Lab hosts of jitsi-sovereign: rewritten by `jitsi-sovereign lab up` and "
            "`lab down`.\n" + "\n".join(out) + "\n")
