"""One host under verification: one SSH connection, host key verified, reads cached.

testinfra's paramiko backend, as shipped, accepts an unknown host key with a warning
(``paramiko.WarningPolicy``) and never reads a known_hosts file: it would connect to
an impostor. ``StrictParamikoBackend`` replaces its client: it reaches the host the way
deploy does (``checks/connect.py``: HostName, User, Port, keys, jump hosts, ProxyCommand,
as OpenSSH resolves the inventory's settings and the user's ssh configuration), refuses
a host with no known key before connecting and any key that does not match
(StrictHostKeyChecking yes, on every hop), runs commands with ``sudo -n`` when the
inventory says become, and puts a timeout on every command.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import paramiko
import testinfra.host
from testinfra.backend.base import CommandResult
from testinfra.backend.paramiko import ParamikoBackend

from jitsi_sovereign.checks.connect import CONNECT_ERRORS, Route, RouteError, failure, hop_of

STATE_DIR = "/etc/jitsi-sovereign/state"
_ENV = "export LC_ALL=C PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; "


class ConnectionFailed(Exception):
    """The host could not be reached over SSH: no inside check can run."""


class StrictParamikoBackend(ParamikoBackend):
    NAME = "paramiko"

    def __init__(self, spec: Any, *, connect_timeout: float = 10.0,
                 command_timeout: float = 60.0) -> None:
        self.spec = spec
        self.command_timeout = command_timeout
        address = f"[{spec.address}]" if ":" in spec.address else spec.address
        super().__init__(
            f"{spec.user}@{address}:{spec.port}",
            ssh_identity_file=str(spec.key_file) if spec.key_file else None,
            timeout=max(1, round(connect_timeout)),
            sudo=bool(spec.become) and spec.user != "root",
        )

    def get_pytest_id(self) -> str:
        return str(self.spec.name)

    def get_sudo_command(self, command: str, sudo_user: str | None) -> str:
        # -n: never wait for a password prompt (there is no terminal to answer it).
        if sudo_user is None:
            return self.quote("sudo -n /bin/sh -c %s", command)
        return self.quote("sudo -n -u %s /bin/sh -c %s", sudo_user, command)

    def get_command(self, command: str, *args: str) -> str:
        command = _ENV + self.quote(command, *args)
        if self.sudo:
            command = self.get_sudo_command(command, self.sudo_user)
        return command

    @functools.cached_property
    def route(self) -> Route:
        return Route(hop_of(self.spec), timeout=self.timeout)

    @functools.cached_property
    def client(self) -> paramiko.SSHClient:
        # Raises HostKeyError before any packet is sent when a host key is unknown.
        return self.route.client(channel_timeout=self.timeout)

    def close(self) -> None:
        client = self.__dict__.pop("client", None)
        if client is not None:
            client.close()
        route = self.__dict__.pop("route", None)
        if route is not None:
            route.close()

    def _exec_command(self, command: bytes) -> tuple[int, bytes, bytes]:
        transport = self.client.get_transport()
        assert transport is not None
        # A login can wait for the host's user session to start (pam_systemd): allow the
        # command timeout, not the connect timeout, for the channel.
        chan = transport.open_session(timeout=self.command_timeout)
        chan.settimeout(self.command_timeout)
        chan.exec_command(command)
        stdout = chan.makefile("rb").read()
        stderr = chan.makefile_stderr("rb").read()
        if not chan.status_event.wait(self.command_timeout):
            chan.close()
            raise TimeoutError(f"no exit status after {self.command_timeout:g} s")
        rc = chan.recv_exit_status()
        chan.close()
        return rc, stdout, stderr


class Target:
    """A host from the inventory, as the checks see it."""

    def __init__(self, spec: Any, *, connect_timeout: float = 10.0,
                 command_timeout: float = 60.0, password: str | None = None) -> None:
        self.spec = spec
        self.name: str = spec.name
        self.address: str = spec.address
        self.port: int = int(spec.port)
        self.password = password  # lab-only password, for "password login is refused"
        self.connect_timeout = connect_timeout
        self._backend = StrictParamikoBackend(spec, connect_timeout=connect_timeout,
                                              command_timeout=command_timeout)
        self._host = testinfra.host.Host(self._backend)
        self._backend.set_host(self._host)
        self._error: str | None = None
        self._cache: dict[tuple, CommandResult] = {}
        self.extra: dict[str, Any] = {}  # other per-host caches (background probes)

    # ------------------------------------------------------------ connection

    def connect(self) -> None:
        """Open the SSH connection once; a failure is remembered (not retried per check)."""
        if self._error is not None:
            raise ConnectionFailed(self._error)
        if "client" in self._backend.__dict__:
            return
        try:
            self._backend.client  # noqa: B018 - opens and caches the connection
        except CONNECT_ERRORS as exc:
            self._error = failure(exc, self.route.hop, self.connect_timeout)
            if self.route.through and not isinstance(exc, RouteError):
                self._error += f" ({self.route.through})"
        if self._error is not None:
            raise ConnectionFailed(self._error)

    @property
    def host(self) -> testinfra.host.Host:
        self.connect()
        return self._host

    @property
    def privileged(self) -> bool:
        """Commands run as root (user root, or sudo because the inventory says become)."""
        return self.spec.user == "root" or self._backend.sudo

    @property
    def connection_error(self) -> str | None:
        return self._error

    @property
    def route(self) -> Route:
        """The way to the host's sshd (straight, jump hosts, ProxyCommand), shared by the
        command connection and the outside SSH probes."""
        return self._backend.route

    def close(self) -> None:
        self._backend.close()

    # ------------------------------------------------------------ reads

    def run(self, command: str, *args: str) -> CommandResult:
        """Run a read-only command (as root when the inventory says become); cached."""
        key = (command, *args)
        if key not in self._cache:
            host = self.host
            try:
                self._cache[key] = host.run(command, *args)
            except (paramiko.SSHException, OSError, EOFError) as exc:
                # The connection is unusable: every later check fails fast with this reason.
                self._error = f"SSH connection lost running {command.split()[0]!r}: {exc}"
                raise ConnectionFailed(self._error) from None
        return self._cache[key]

    def read_state(self, role: str) -> dict | None:
        """/etc/jitsi-sovereign/state/<role>.json, or None when the file does not exist."""
        path = f"{STATE_DIR}/{role}.json"
        result = self.run("if test -e %s; then cat %s; else echo MISSING; fi", path, path)
        if result.rc != 0:
            raise RuntimeError(f"cannot read {path}: {result.stderr.strip()}")
        if result.stdout.strip() == "MISSING":
            return None
        try:
            return json.loads(result.stdout)
        except json.JSONDecodeError as exc:
            raise RuntimeError(f"{path} is not valid JSON: {exc}") from None
