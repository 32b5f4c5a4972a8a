"""Reach a host's sshd the way deploy does, with paramiko.

The way is a ``sshroute.Hop`` (OpenSSH's own reading of deploy's ssh command line, made by
the inventory loader): straight to HostName:Port, through jump hosts (ProxyJump: an SSH
connection to the last jump host, itself reached the same way, and a ``direct-tcpip``
channel from there to the next sshd, as ``ssh -W`` does), or through a ProxyCommand (run by
the shell, as ssh runs it). Every sshd on the way, jump hosts included, must show the host
key its known_hosts files hold (each hop's own UserKnownHostsFile, as for ssh): an unknown
key stops the connection before anything is sent, a different one before any credential.

A ``Route`` opens its jump-host connections once and shares them between every stream to
the host (the checks' command connection and the outside SSH probes); ``close`` ends them.
"""

from __future__ import annotations

import os
import shlex
import socket
from pathlib import Path
from typing import Any

import paramiko

from jitsi_sovereign.checks.probes import (
    TO_KNOWN_HOSTS,
    HostKeyError,
    StrictHostKeyPolicy,
    known_keys_for,
    load_known_hosts,
    start_verified,
)
from jitsi_sovereign.sshroute import Hop

_FAMILY = {"inet": socket.AF_INET, "inet6": socket.AF_INET6}


class RouteError(Exception):
    """A jump host on the way failed (its message says which and why)."""


# What connecting can raise (HostKeyError, paramiko's BadHostKey and Authentication
# exceptions are SSHExceptions, TimeoutError an OSError).
CONNECT_ERRORS = (RouteError, HostKeyError, paramiko.SSHException, OSError, EOFError)


def hop_of(spec: Any) -> Hop:
    """The way to a host: the inventory's (``spec.route``), or straight to its address
    with its user, key and known_hosts (a HostSpec made without the inventory loader)."""
    route = getattr(spec, "route", None)
    if route is not None:
        return route
    key = getattr(spec, "key_file", None)
    known = getattr(spec, "known_hosts", None)
    return Hop(alias=spec.address, hostname=spec.address, port=int(spec.port), user=spec.user,
               identity_files=(Path(key),) if key else (), identities_only=key is not None,
               known_hosts=(Path(known),) if known else ())


def failure(exc: BaseException, hop: Hop, timeout: float) -> str:
    """What went wrong connecting to ``hop``, for a person."""
    if isinstance(exc, RouteError):
        return str(exc)
    if isinstance(exc, HostKeyError):
        return f"host key not verified: {exc}"
    if isinstance(exc, paramiko.BadHostKeyException):
        return (f"host key of {exc.hostname} does not match known_hosts "
                f"(got {exc.key.get_name()} {exc.key.fingerprint}): possible "
                "man-in-the-middle, or the host was reinstalled")
    if isinstance(exc, paramiko.AuthenticationException):
        return (f"SSH authentication as {hop.user} failed ({exc}): check ansible_user and "
                "ansible_ssh_private_key_file (for a jump host: its User and IdentityFile "
                "in your ssh configuration)")
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"no SSH answer from {hop.hostname}:{hop.port} within {timeout:g} s"
    return f"cannot connect to {hop.hostname}:{hop.port}: {exc}"


def _tcp(hop: Hop, timeout: float) -> socket.socket:
    """A TCP connection to the hop (AddressFamily and BindAddress as ssh would)."""
    family = _FAMILY.get(hop.address_family, socket.AF_UNSPEC)
    last: OSError | None = None
    for fam, kind, proto, _, address in socket.getaddrinfo(hop.hostname, hop.port, family,
                                                           socket.SOCK_STREAM):
        sock = socket.socket(fam, kind, proto)
        try:
            sock.settimeout(timeout)
            if hop.bind_address:
                sock.bind((hop.bind_address, 0))
            sock.connect(address)
            return sock
        except OSError as exc:
            sock.close()
            last = exc
    raise last or OSError(f"no address for {hop.hostname}")


class Route:
    """The way to one sshd, its jump-host connection opened once and shared."""

    def __init__(self, hop: Hop, timeout: float = 10.0, *, jump: bool = False) -> None:
        self.hop = hop
        self.timeout = timeout
        self.jump = jump  # a jump host on the way to another sshd
        self._via = Route(hop.via, timeout, jump=True) if hop.via is not None else None
        self._via_client: paramiko.SSHClient | None = None

    @property
    def through(self) -> str | None:
        """``through jump host a, then b`` / ``through ProxyCommand ...``; None: direct."""
        if self.hop.proxy_command:
            return f"through ProxyCommand {self.hop.proxy_command!r}"
        jumps = [h for h in self.hop.chain() if h is not self.hop]
        if not jumps:
            return None
        return "through jump host " + ", then ".join(
            f"{h.user}@{h.hostname}:{h.port}" for h in jumps)

    def known_keys(self) -> dict[str, paramiko.PKey]:
        """The host keys known_hosts holds for this sshd (HostKeyError when none)."""
        hop = self.hop
        hint = (f"set UserKnownHostsFile for {hop.alias} in your ssh configuration: ssh "
                "hands a jump host none of the -o options of ansible_ssh_common_args"
                if self.jump else TO_KNOWN_HOSTS)
        return known_keys_for(load_known_hosts(hop.known_hosts), hop.host_key_name,
                              [str(p) for p in hop.known_hosts if "ssh_known_hosts" not in
                               p.name] or None, hint)

    def stream(self) -> Any:
        """A new byte stream to the sshd: a socket, a jump host's channel, a ProxyCommand."""
        hop = self.hop
        if self._via is not None:
            via = self._via
            if self._via_client is None:
                try:
                    self._via_client = via.client()
                except RouteError:
                    raise
                except CONNECT_ERRORS as exc:
                    raise RouteError(f"jump host {via.hop.alias} ({via.hop.user}@"
                                     f"{via.hop.hostname}:{via.hop.port}): "
                                     f"{failure(exc, via.hop, self.timeout)}") from None
            transport = self._via_client.get_transport()
            assert transport is not None
            try:
                return transport.open_channel("direct-tcpip", (hop.hostname, hop.port),
                                              ("127.0.0.1", 0), timeout=self.timeout)
            except (paramiko.SSHException, OSError, EOFError) as exc:
                raise RouteError(f"jump host {via.hop.alias} could not open a connection to "
                                 f"{hop.hostname}:{hop.port}: {exc}") from None
        if hop.proxy_command:
            shell = os.environ.get("SHELL") or "/bin/sh"
            return paramiko.ProxyCommand(shlex.join([shell, "-c", "exec " + hop.proxy_command]))
        return _tcp(hop, self.timeout)

    def transport(self) -> paramiko.Transport:
        """A new SSH transport whose host key matched known_hosts (not authenticated)."""
        known = self.known_keys()  # before any packet is sent
        return start_verified(self.stream(), known, self.hop.host_key_name, self.timeout)

    def client(self, *, channel_timeout: float | None = None) -> paramiko.SSHClient:
        """A logged-in client: host key checked first, then the hop's keys (IdentityFile,
        and ssh-agent unless IdentitiesOnly or IdentityAgent none)."""
        hop = self.hop
        self.known_keys()  # HostKeyError before any packet is sent
        client = paramiko.SSHClient()
        for path in (*hop.known_hosts, Path("/etc/ssh/ssh_known_hosts")):
            if path.is_file():
                client.load_system_host_keys(str(path))  # never written back
        client.set_missing_host_key_policy(StrictHostKeyPolicy())
        stream = self.stream()
        # With a stream given, hostname and port only name the key looked up in known_hosts.
        name, port = (hop.host_key_alias, 22) if hop.host_key_alias else (hop.hostname, hop.port)
        try:
            client.connect(
                hostname=name, port=port, username=hop.user, sock=stream,
                key_filename=[str(p) for p in hop.identity_files] or None,
                timeout=self.timeout, banner_timeout=self.timeout, auth_timeout=self.timeout,
                channel_timeout=channel_timeout or self.timeout,
                allow_agent=hop.use_agent and not hop.identities_only,
                look_for_keys=not hop.identity_files and not hop.identities_only,
            )
        except BaseException:
            client.close()
            stream.close()
            raise
        return client

    def close(self) -> None:
        """End the jump-host connections (the last one first)."""
        if self._via_client is not None:
            self._via_client.close()
            self._via_client = None
        if self._via is not None:
            self._via.close()
