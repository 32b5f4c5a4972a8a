"""The way to a host's sshd as deploy takes it, for the CLI's own SSH client.

``deploy`` reaches a host with OpenSSH, through Ansible's ssh connection: ``ssh
<ssh_args> -o Port= -o IdentityFile= -o User= -o ConnectTimeout= <ssh_common_args>
<ssh_extra_args> <ansible_host>`` (``inventory.ansible_ssh_command`` builds the same
options from the same settings). ``verify`` and ``users`` talk SSH themselves, with
paramiko (``checks/connect.py``), and must reach the host the same way. Rather than
re-read ssh's configuration language (Include, Match, first value wins, tokens), this
module asks OpenSSH what that command line means: ``ssh -G <options> <host>`` prints the
settings ssh would use, the user's ``~/.ssh/config`` (or the ``-F`` file) and
``/etc/ssh/ssh_config`` applied, the command line winning over them as it does for
deploy.

A ``ProxyJump`` (``-J``, ``-o ProxyJump=``, or in ssh_config) is resolved as OpenSSH
does it: the last jump host is reached by its own ssh, which gets only ``-l user -p
port -J <the earlier jumps> -F <config file>`` from the first command line (no other
``-o`` option, so a jump host's key file and known_hosts come from ssh_config), and the
target is reached through it (a ``direct-tcpip`` channel to the target's HostName and
Port). ``ProxyCommand`` runs through the shell with ``%h %p %r %n %%`` expanded.

Honoured: HostName, Port, User, IdentityFile, IdentitiesOnly, IdentityAgent ``none``,
UserKnownHostsFile, GlobalKnownHostsFile, HostKeyAlias, ProxyJump, ProxyCommand,
BindAddress, AddressFamily. Host keys are always checked strictly against the known_hosts
files (StrictHostKeyChecking ``no`` or ``accept-new`` does not relax verify). Not used
(they do not change where the connection goes or who logs in): multiplexing
(ControlMaster/Path/Persist), forwardings, ConnectTimeout (verify has its own),
Compression, ServerAlive*, ciphers and algorithms (paramiko's own lists), GSSAPI and
host-based authentication. Refused with an error before connecting (``refusals``): the
settings paramiko cannot honour, each named with its fix.
"""

from __future__ import annotations

import getpass
import os
import re
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

MAX_JUMPS = 8  # a ProxyJump chain longer than this is a loop in the ssh configuration
# Options of ssh that take an argument (ssh.c's getopt string), to find -F in an argv.
_WITH_ARGUMENT = set("BbcDEeFIiJLlmOoPpQRSWw")
# Settings that paramiko cannot honour when they are set (see ``refusals``).
REFUSABLE = frozenset({"proxyusefdpass", "pkcs11provider", "certificatefile", "identityagent",
                       "knownhostscommand", "bindinterface"})
# Tokens ssh expands in IdentityFile (ssh_config(5) TOKENS); %C (a hash) is not.
_TOKEN = re.compile(r"%(.)")


class SshConfigError(Exception):
    """ssh could not tell how it would connect (bad option, bad config file, no ssh)."""


@dataclass(frozen=True)
class Hop:
    """One sshd on the way to a host, as OpenSSH resolves it (``ssh -G``)."""

    alias: str  # the name given to ssh (ansible_host, or a jump host as written)
    hostname: str  # where ssh connects: its HostName
    port: int = 22
    user: str = "root"
    identity_files: tuple[Path, ...] = ()  # those that exist, in ssh's order
    identities_only: bool = False
    use_agent: bool = True
    known_hosts: tuple[Path, ...] = ()  # UserKnownHostsFile, then GlobalKnownHostsFile
    host_key_alias: str | None = None
    proxy_command: str | None = None  # tokens expanded, run with $SHELL -c "exec ..."
    via: Hop | None = None  # the jump host this sshd is reached through
    bind_address: str | None = None
    address_family: str = "any"  # any | inet | inet6
    options: tuple[tuple[str, str], ...] = ()  # its `ssh -G` lines of REFUSABLE settings

    @property
    def host_key_name(self) -> str:
        """The name of its key in known_hosts (``[host]:port`` off port 22, or the alias)."""
        if self.host_key_alias:
            return self.host_key_alias
        return self.hostname if self.port == 22 else f"[{self.hostname}]:{self.port}"

    @property
    def user_known_hosts(self) -> Path | None:
        """The first UserKnownHostsFile (where ssh would record a key): for messages."""
        return self.known_hosts[0] if self.known_hosts else None

    def chain(self) -> list[Hop]:
        """Every sshd on the way, the first one connected to first, this one last."""
        hops: list[Hop] = []
        hop: Hop | None = self
        while hop is not None:
            hops.insert(0, hop)
            hop = hop.via
        return hops

    def option(self, name: str) -> str | None:
        for key, value in self.options:
            if key == name:
                return value
        return None

    def describe(self) -> str:
        """``debian@10.0.0.5:22 via debian@bastion:22`` (for messages)."""
        text = f"{self.user}@{self.hostname}:{self.port}"
        if self.proxy_command:
            text += f" via ProxyCommand {self.proxy_command!r}"
        if self.via is not None:
            text += f" via {self.via.describe()}"
        return text


# ------------------------------------------------------------------ ssh -G


def parse_ssh_g(text: str) -> dict[str, list[str]]:
    """``ssh -G`` output -> {keyword (lower case): [values, in order]}."""
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, _, value = line.strip().partition(" ")
        if key:
            out.setdefault(key.lower(), []).append(value.strip())
    return out


def ssh_g(executable: str, args: list[str], host: str) -> dict[str, list[str]]:
    """The settings ssh would use to connect to ``host`` with ``args`` (``ssh -G``)."""
    argv = [executable, "-G", *args, "--", host]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL, check=False)
    except FileNotFoundError:
        raise SshConfigError(f"{executable} is not installed (deploy connects with it "
                             "too)") from None
    except subprocess.TimeoutExpired:
        raise SshConfigError(f"`{executable} -G` did not answer within 30 s "
                             "(a Match exec in the ssh configuration?)") from None
    if done.returncode != 0:
        lines = [ln for ln in done.stderr.splitlines()
                 if ln.strip() and "Pseudo-terminal" not in ln]
        raise SshConfigError(lines[-1].strip() if lines else f"exit code {done.returncode}")
    return parse_ssh_g(done.stdout)


def config_file(args: list[str]) -> str | None:
    """The ``-F FILE`` of an ssh argv (the last one wins, as for ssh), else None."""
    found = None
    i = 0
    while i < len(args):
        word = args[i]
        i += 1
        if not word.startswith("-") or word == "-" or word.startswith("--"):
            continue
        for j, letter in enumerate(word[1:], start=1):
            if letter in _WITH_ARGUMENT:
                value = word[j + 1:]
                if not value and i < len(args):
                    value = args[i]
                    i += 1
                if letter == "F":
                    found = value
                break
    return found


def parse_jump(spec: str) -> tuple[str | None, str, int | None]:
    """One ProxyJump entry, ``[user@]host[:port]`` or ``ssh://[user@]host[:port]``
    (an IPv6 address in brackets), as (user, host, port)."""
    text = spec.strip().removeprefix("ssh://").rstrip("/")
    user = None
    if "@" in text:
        user, _, text = text.rpartition("@")
    port = None
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest.startswith(":") and rest[1:]:
            port = _port(rest[1:], spec)
    elif text.count(":") == 1:
        host, _, rest = text.partition(":")
        port = _port(rest, spec)
    else:
        host = text
    if not host:
        raise SshConfigError(f"ProxyJump entry {spec!r} names no host")
    return user or None, host, port


def _port(text: str, spec: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise SshConfigError(f"ProxyJump entry {spec!r}: {text!r} is not a port")
    return int(text)


def expand_tokens(text: str, values: dict[str, str], keyword: str) -> str:
    """``%h`` and friends replaced (``%%`` is ``%``); an unknown token is an error."""
    def one(match: re.Match) -> str:
        token = match.group(1)
        if token not in values:
            raise SshConfigError(f"{keyword}: token %{token} is not supported here "
                                 f"(only {' '.join('%' + t for t in sorted(values))})")
        return values[token]

    return _TOKEN.sub(one, text)


def _local_tokens() -> dict[str, str]:
    fqdn = socket.getfqdn()
    return {"%": "%", "d": str(Path.home()), "u": getpass.getuser(), "l": fqdn,
            "L": fqdn.split(".")[0], "i": str(os.getuid())}


def _path(text: str) -> Path:
    return Path(os.path.expanduser(text))


def hop_from_settings(alias: str, cfg: dict[str, list[str]], via: Hop | None = None) -> Hop:
    """A Hop from ``ssh -G`` settings (``via``: its jump host, already resolved)."""
    def first(key: str, default: str = "") -> str:
        return (cfg.get(key) or [default])[0]

    hostname = first("hostname", alias)
    port = int(first("port", "22"))
    user = first("user") or getpass.getuser()
    tokens = {**_local_tokens(), "h": hostname, "n": alias, "p": str(port), "r": user}
    identity = [_path(expand_tokens(v, tokens, "IdentityFile"))
                for v in cfg.get("identityfile", [])]
    known: list[Path] = []
    for key in ("userknownhostsfile", "globalknownhostsfile"):
        for value in cfg.get(key, []):
            known.extend(_path(p) for p in value.split())
    proxy = first("proxycommand") or None
    if proxy is not None and proxy.lower() == "none":
        proxy = None
    if proxy is not None:
        proxy = expand_tokens(proxy, {"%": "%", "h": hostname, "p": str(port), "r": user,
                                      "n": alias}, "ProxyCommand")
    agent = first("identityagent")
    return Hop(
        alias=alias, hostname=hostname, port=port, user=user,
        identity_files=tuple(p for p in identity if p.is_file()),
        identities_only=first("identitiesonly", "no").lower() == "yes",
        use_agent=agent.lower() != "none",
        known_hosts=tuple(known),
        host_key_alias=first("hostkeyalias") or None,
        proxy_command=proxy, via=via,
        bind_address=first("bindaddress") or None,
        address_family=first("addressfamily", "any").lower(),
        options=tuple((k, v) for k, values in cfg.items() if k in REFUSABLE for v in values),
    )


def resolve(host: str, args: list[str], executable: str = "ssh", *,
            config: str | None = None, depth: int = 0) -> Hop:
    """The Hop ``ssh <args> <host>`` connects to, with its jump hosts (``via``).

    ``config`` is the ``-F`` file of the first command line: OpenSSH hands it (and only
    it, with ``-l``, ``-p`` and ``-J``) to the ssh of each jump host.
    """
    if depth > MAX_JUMPS:
        raise SshConfigError(f"more than {MAX_JUMPS} ProxyJump hosts on the way to {host} "
                             "(a loop in the ssh configuration?)")
    if depth == 0:
        config = config_file(args)
    cfg = ssh_g(executable, args, host)
    via = None
    jumps = (cfg.get("proxyjump") or [""])[0]
    if jumps and jumps.lower() != "none":
        *earlier, last = [j for j in jumps.split(",") if j.strip()]
        user, jump_host, port = parse_jump(last)
        jump_args = ["-F", config] if config else []
        if user:
            jump_args += ["-l", user]
        if port:
            jump_args += ["-p", str(port)]
        if earlier:
            jump_args += ["-J", ",".join(earlier)]
        via = resolve(jump_host, jump_args, executable, config=config, depth=depth + 1)
    return hop_from_settings(host, cfg, via)


def first_address(hop: Hop) -> str | None:
    """The name this machine itself connects to (the first jump host's, or the host's),
    None when a ProxyCommand makes the first connection."""
    first = hop.chain()[0]
    return None if first.proxy_command else first.hostname


# ------------------------------------------------------------------ what paramiko cannot do


def refusals(hop: Hop) -> list[tuple[str, str]]:
    """(problem, fix) for every setting on the way that paramiko cannot honour."""
    found: list[tuple[str, str]] = []
    for h in hop.chain():
        where = f"{h.alias}" + (" (a jump host)" if h is not hop else "")
        if h.option("proxyusefdpass") == "yes":
            found.append((f"ProxyUseFdpass yes for {where}: the CLI's SSH client reads the "
                          "ProxyCommand's output, it cannot receive a socket from it",
                          "set ProxyUseFdpass no for this host"))
        provider = h.option("pkcs11provider")
        if provider and provider.lower() != "none":
            found.append((f"PKCS11Provider {provider} for {where}: the CLI's SSH client "
                          "cannot use a smartcard or token",
                          "load the token's key into ssh-agent (ssh-add -s ...) and remove "
                          "PKCS11Provider"))
        for cert in [v for k, v in h.options if k == "certificatefile"]:
            found.append((f"CertificateFile {cert} for {where}: the CLI's SSH client does "
                          "not read certificate files named there",
                          "name the certificate KEY-cert.pub next to its private key KEY "
                          "(it is loaded from there) and remove CertificateFile"))
        agent = h.option("identityagent")
        if agent and agent.lower() not in ("none", "ssh_auth_sock", "$ssh_auth_sock") and (
                agent != os.environ.get("SSH_AUTH_SOCK")):
            found.append((f"IdentityAgent {agent} for {where}: the CLI's SSH client asks "
                          "only the agent of SSH_AUTH_SOCK",
                          f"export SSH_AUTH_SOCK={agent} before running the command, or "
                          "name the key with IdentityFile"))
        command = h.option("knownhostscommand")
        if command and command.lower() != "none":
            found.append((f"KnownHostsCommand for {where}: the CLI's SSH client checks host "
                          "keys against known_hosts files only",
                          "write the host's key to a known_hosts file named by "
                          "UserKnownHostsFile"))
        if h.option("bindinterface"):
            found.append((f"BindInterface for {where}: the CLI's SSH client can bind an "
                          "address, not an interface",
                          "use BindAddress with the interface's address"))
    return found
