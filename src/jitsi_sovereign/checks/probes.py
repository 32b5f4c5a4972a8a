"""Probes run from the controller against a host's address: TCP, UDP, SSH authentication.

What a TCP probe tells (within ``timeout`` seconds):

* ``open``: the connection was accepted (a service listens and the firewall passes it);
* ``closed``: refused (RST): the firewall passes the port, nothing listens;
* ``filtered``: no answer at all: a firewall drops the packets;
* ``rejected``: an ICMP error (host/port/admin prohibited): something rejects actively.

A UDP probe sends a few small datagrams on a connected socket:

* ``closed``: an ICMP port-unreachable came back (the kernel reports ConnectionRefused):
  the firewall passes the port and nothing listens;
* ``answered``: a datagram came back: a service listens and the firewall passes it;
* ``silent``: nothing came back: either a firewall drops the packets, or a service
  listens and ignores what was sent. UDP cannot tell these two apart without a
  protocol probe.

SSH probes open their own transport (over the route deploy takes: ``checks/connect.py``)
and verify the server's host key against the inventory's known_hosts BEFORE sending
anything (a password sent to an impostor would be a leak): an unknown or different host
key raises ``HostKeyError``.
"""

from __future__ import annotations

import errno
import socket
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import paramiko

# ------------------------------------------------------------------ TCP / UDP


@dataclass(frozen=True)
class PortProbe:
    proto: str
    port: int
    status: str  # open | closed | filtered | rejected | answered | silent | error
    detail: str
    seconds: float


def _family_address(address: str, port: int, kind: int) -> tuple[int, tuple]:
    info = socket.getaddrinfo(address, port, type=kind)[0]
    return info[0], info[4]


def probe_tcp(address: str, port: int, timeout: float = 1.5) -> PortProbe:
    start = time.monotonic()
    try:
        family, sockaddr = _family_address(address, port, socket.SOCK_STREAM)
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(sockaddr)
        status, detail = "open", "connection accepted"
    except ConnectionRefusedError:
        status, detail = "closed", "connection refused (RST)"
    except TimeoutError:
        status, detail = "filtered", f"no answer within {timeout:g} s"
    except OSError as exc:
        if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EACCES, errno.EPERM):
            status, detail = "rejected", f"ICMP error: {exc.strerror or exc}"
        else:
            status, detail = "error", f"{type(exc).__name__}: {exc}"
    return PortProbe("tcp", port, status, detail, time.monotonic() - start)


def probe_udp(address: str, port: int, timeout: float = 1.5, tries: int = 3) -> PortProbe:
    """Send up to ``tries`` datagrams, ``timeout/tries`` apart (ICMP errors are rate
    limited by the kernel, so one lost answer does not mean "filtered")."""
    start = time.monotonic()
    try:
        family, sockaddr = _family_address(address, port, socket.SOCK_DGRAM)
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.connect(sockaddr)
            s.settimeout(timeout / tries)
            for _ in range(tries):
                try:
                    s.send(b"\r\n")
                    data = s.recv(2048)
                    return PortProbe("udp", port, "answered",
                                     f"{len(data)} bytes came back", time.monotonic() - start)
                except TimeoutError:
                    continue
            status, detail = "silent", f"no answer and no ICMP error within {timeout:g} s"
    except ConnectionRefusedError:
        status, detail = "closed", "ICMP port unreachable"
    except OSError as exc:
        if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EACCES, errno.EPERM):
            status, detail = "rejected", f"ICMP error: {exc.strerror or exc}"
        else:
            status, detail = "error", f"{type(exc).__name__}: {exc}"
    return PortProbe("udp", port, status, detail, time.monotonic() - start)


def probe_many(address: str, ports: list[tuple[str, int]],
               timeout: float = 1.5) -> dict[tuple[str, int], PortProbe]:
    """Probe every (proto, port) at once, in threads: the whole batch takes ~timeout."""
    if not ports:
        return {}
    with ThreadPoolExecutor(max_workers=min(64, len(ports))) as pool:
        futures = {
            (proto, port): pool.submit(probe_tcp if proto == "tcp" else probe_udp,
                                       address, port, timeout)
            for proto, port in ports
        }
        return {key: f.result() for key, f in futures.items()}


# ------------------------------------------------------------------ SSH


class HostKeyError(Exception):
    """The server's host key is not the one in known_hosts (or there is none)."""


def load_known_hosts(known_hosts: Path | Iterable[Path] | None) -> paramiko.HostKeys:
    """The given known_hosts file(s) plus the system-wide one (like OpenSSH)."""
    if known_hosts is None:
        files: list[Path] = []
    elif isinstance(known_hosts, str | Path):
        files = [Path(known_hosts)]
    else:
        files = [Path(p) for p in known_hosts]
    keys = paramiko.HostKeys()
    for path in [*files, Path("/etc/ssh/ssh_known_hosts")]:
        if path.is_file():
            keys.load(str(path))
    return keys


def host_key_name(address: str, port: int) -> str:
    return address if port == 22 else f"[{address}]:{port}"


TO_KNOWN_HOSTS = "set UserKnownHostsFile in ansible_ssh_common_args"


def known_keys_for(known: paramiko.HostKeys, name: str, where: object = None,
                   hint: str = TO_KNOWN_HOSTS) -> dict[str, paramiko.PKey]:
    """The known host keys of ``name`` (see ``host_key_name``); HostKeyError when there
    are none. ``where``: the known_hosts file(s), for the message; ``hint``: where else
    the user can name a known_hosts file."""
    entry = known.lookup(name)
    if not entry:
        if isinstance(where, list | tuple):
            where = ", ".join(str(p) for p in where) or None
        raise HostKeyError(
            f"no host key for {name} in {where or '~/.ssh/known_hosts'}: refusing to connect "
            "to an unverified host (add the key after checking its fingerprint on the "
            f"server's console, or {hint})")
    return dict(entry)


def check_server_key(known: dict[str, paramiko.PKey], server_key: paramiko.PKey,
                     name: str) -> None:
    expected = known.get(server_key.get_name())
    if expected is None or expected != server_key:
        raise HostKeyError(
            f"host key of {name} ({server_key.get_name()} "
            f"{server_key.fingerprint}) does not match known_hosts: "
            "possible man-in-the-middle, or the host was reinstalled")


class StrictHostKeyPolicy(paramiko.MissingHostKeyPolicy):
    """Refuse any host whose key is not in known_hosts (StrictHostKeyChecking yes)."""

    def missing_host_key(self, client, hostname, key):
        raise HostKeyError(
            f"{hostname} offered an unknown {key.get_name()} host key {key.fingerprint}: "
            "refusing to connect (StrictHostKeyChecking)")


def start_verified(sock, known: dict[str, paramiko.PKey], name: str,
                   timeout: float = 10.0) -> paramiko.Transport:
    """An SSH transport over ``sock`` (a socket, a jump host's channel, a ProxyCommand)
    whose server host key matched ``known`` (not authenticated); closed on failure."""
    transport = paramiko.Transport(sock)
    transport.banner_timeout = timeout
    transport.auth_timeout = timeout
    # Ask the server for a host key type we know (like OpenSSH's HostKeyAlgorithms order).
    opts = transport.get_security_options()
    wanted = [t for t in opts.key_types if t in known or
              (t.startswith("rsa-sha2-") and "ssh-rsa" in known)]
    opts.key_types = wanted + [t for t in opts.key_types if t not in wanted]
    try:
        transport.start_client(timeout=timeout)
        check_server_key(known, transport.get_remote_server_key(), name)
    except BaseException:
        transport.close()
        raise
    return transport


def verified_transport(address: str, port: int, known_hosts: Path | None,
                       timeout: float = 10.0) -> paramiko.Transport:
    """An SSH transport straight to ``address:port`` whose server host key matched
    known_hosts (not authenticated). The checks reach the host as deploy does, through
    ``Target.route`` (jump hosts, ProxyCommand)."""
    name = host_key_name(address, port)
    known = known_keys_for(load_known_hosts(known_hosts), name, known_hosts)
    sock = socket.create_connection((address, port), timeout=timeout)
    return start_verified(sock, known, name, timeout)


@dataclass(frozen=True)
class AuthOutcome:
    accepted: bool
    allowed: list[str]  # methods the server said it still accepts (empty when accepted)
    detail: str


def try_auth(transport: paramiko.Transport, username: str, *, password: str | None = None,
             key: paramiko.PKey | None = None) -> AuthOutcome:
    """One authentication attempt: ``none`` (no credential), a password or a key."""
    try:
        if key is not None:
            transport.auth_publickey(username, key)
        elif password is not None:
            transport.auth_password(username, password, fallback=False)
        else:
            transport.auth_none(username)
    except paramiko.BadAuthenticationType as exc:
        return AuthOutcome(False, list(exc.allowed_types),
                           f"method refused; server accepts only {list(exc.allowed_types)}")
    except paramiko.AuthenticationException as exc:
        allowed = list(getattr(exc, "allowed_types", []) or [])
        return AuthOutcome(False, allowed, f"authentication failed: {exc}")
    return AuthOutcome(transport.is_authenticated(), [], "authenticated")


def load_private_key(path: Path) -> paramiko.PKey:
    return paramiko.PKey.from_path(str(path))


def public_key_line(key: paramiko.PKey) -> str:
    """``type base64`` as it appears in authorized_keys."""
    return f"{key.get_name()} {key.get_base64()}"
