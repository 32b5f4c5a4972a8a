"""Moderator accounts of the main XMPP domain (prosody ``internal_hashed``), over SSH.

``jitsi-sovereign users add|remove|list|passwd`` connect with the same strict SSH
client as the checks (the way deploy reaches the host, jump hosts included; every host
key checked against known_hosts), run ``prosodyctl`` through ``sudo -n`` on the host,
and hand a password to prosodyctl on its standard input (it reads "Enter new password"
/ "Retype new password" from stdin): a password is never in a command line, here or on
the host, and never printed.

The domain is the one the prosody role wrote in /etc/jitsi-sovereign/state/prosody.json,
so the accounts are made where prosody serves them. Only in auth mode ``internal``: in
``token`` and ``ldap`` mode the accounts live in the token issuer or the directory, and
every command refuses (exit 2) and says so. Accounts are listed from prosody's
storage directory (no running server needed, same on prosody 0.12 and 13).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jitsi_sovereign.errors import UserError

STATE_FILE = "/etc/jitsi-sovereign/state/prosody.json"
STORAGE_DIR = "/var/lib/prosody"
# prosodyctl loops on a mismatch or an empty stdin: never wait for it forever.
PROSODYCTL_TIMEOUT = 30
# Lower case (prosody's nodeprep would fold it anyway), no JID separators or spaces.
USER_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MIN_PASSWORD = 8

# (command, stdin bytes or None) -> (exit code, stdout, stderr)
Runner = Callable[[str, bytes | None], tuple[int, str, str]]


def check_user(name: str) -> str:
    if not USER_RE.match(name):
        raise UserError(f"{name!r} is not a valid user name",
                        "use 1-64 lower-case letters, digits, '.', '_' or '-' "
                        "(the part before @, the domain is the server's)")
    return name


def check_password(password: str) -> str:
    if "\n" in password or "\r" in password:
        raise UserError("the password holds a line break", "give a single line")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password is shorter than {MIN_PASSWORD} characters",
                        "choose a longer password")
    return password


def storage_name(text: str) -> str:
    """prosody's storage encoding of a host or user name: every non-alphanumeric -> %xx."""
    return "".join(c if c.isascii() and c.isalnum() else f"%{ord(c):02x}" for c in text)


def decode_storage_name(text: str) -> str:
    return re.sub(r"%([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), text)


def refuse_external_accounts(host: str, state: dict) -> None:
    """Raise (exit 2) unless the host's prosody keeps its accounts itself (auth internal).

    In token mode the users are whoever the token issuer signs a JWT for; in ldap mode
    they are the directory's entries. An account made with prosodyctl there could not
    log in (the main domain does not read prosody's accounts): refuse, and say where.
    """
    auth = state.get("auth") or "internal"
    if auth == "internal":
        return
    if auth == "token":
        app = state.get("jwt_app_id")
        raise UserError(
            f"{host}: prosody authenticates with tokens (prosody_auth: token): the accounts "
            f"live in your token issuer{f' (JWT app_id {app})' if app else ''}, not in prosody; "
            "an account made here could not log in",
            "add, remove and change users in the token issuer (e.g. your OIDC provider "
            "behind the token adapter)")
    if auth == "ldap":
        url = state.get("ldap_url")
        raise UserError(
            f"{host}: prosody authenticates against the directory (prosody_auth: ldap): the "
            f"accounts live in the directory{f' {url}' if url else ''}, not in prosody; an "
            "account made here could not log in",
            "add, remove and change users in the directory")
    raise UserError(f"{host}: prosody_auth is {auth!r}, which this command does not know",
                    "deploy again with prosody_auth internal, token or ldap")


@dataclass
class UserHost:
    """One host's prosody accounts, through a command runner (SSH in real use)."""

    name: str
    run: Runner
    _domain: str | None = None

    @property
    def domain(self) -> str:
        if self._domain is None:
            rc, out, err = self.run(f"cat {STATE_FILE}", None)
            if rc != 0:
                raise UserError(f"{self.name}: prosody is not deployed there ({STATE_FILE}: "
                                f"{(err or out).strip() or 'missing'})",
                                "run `jitsi-sovereign deploy` first "
                                "(with jitsi_sovereign_domain set)")
            try:
                state = json.loads(out)
            except json.JSONDecodeError as exc:
                raise UserError(f"{self.name}: {STATE_FILE} is not JSON ({exc})") from None
            refuse_external_accounts(self.name, state)
            self._domain = str(state["domain"])
        return self._domain

    def _jid(self, user: str) -> str:
        return f"{check_user(user)}@{self.domain}"

    def list(self) -> list[str]:
        accounts = f"{STORAGE_DIR}/{storage_name(self.domain)}/accounts"
        rc, out, err = self.run(
            f"if [ -d {accounts} ]; then ls -1 {accounts}; fi", None)
        if rc != 0:
            raise UserError(f"{self.name}: cannot list {accounts}: {err.strip()}")
        return sorted(decode_storage_name(line[:-4]) for line in out.split()
                      if line.endswith(".dat"))

    def exists(self, user: str) -> bool:
        return check_user(user) in self.list()

    def _prosodyctl(self, verb: str, user: str, password: str | None = None) -> None:
        jid = self._jid(user)
        stdin = None
        if password is not None:
            check_password(password)
            line = password.encode() + b"\n"
            stdin = line + line  # "Enter new password" then "Retype new password"
        rc, out, err = self.run(
            f"timeout {PROSODYCTL_TIMEOUT} prosodyctl {verb} {jid}", stdin)
        if rc != 0:
            lines = [ln for ln in (err + "\n" + out).splitlines()
                     if ln.strip() and not ln.startswith(("*", " "))
                     and "password:" not in ln.lower()]
            reason = lines[-1].strip() if lines else f"exit code {rc}"
            raise UserError(f"{self.name}: prosodyctl {verb} {jid} failed: {reason}")

    def add(self, user: str, password: str) -> None:
        check_password(password)
        if self.exists(user):
            raise UserError(f"user {user} already exists on {self.domain}",
                            "choose another name, or change its password with `users passwd`")
        self._prosodyctl("adduser", user, password)

    def passwd(self, user: str, password: str) -> None:
        check_password(password)
        if not self.exists(user):
            raise UserError(f"no user {user} on {self.domain}",
                            "see `jitsi-sovereign users list`")
        self._prosodyctl("passwd", user, password)

    def remove(self, user: str) -> None:
        if not self.exists(user):
            raise UserError(f"no user {user} on {self.domain}",
                            "see `jitsi-sovereign users list`")
        self._prosodyctl("deluser", user)


def ssh_runner(spec: Any, timeout: float = 60.0) -> tuple[Runner, Callable[[], None]]:
    """A runner over the strict SSH client of the checks (known_hosts enforced, sudo -n)."""
    from jitsi_sovereign.checks.target import ConnectionFailed, Target

    target = Target(spec, command_timeout=timeout)
    backend = target._backend  # the same strict client as the checks

    def run(command: str, stdin: bytes | None) -> tuple[int, str, str]:
        try:
            target.connect()
        except ConnectionFailed as exc:
            raise UserError(f"{spec.name}: {exc}") from None
        transport = backend.client.get_transport()
        assert transport is not None
        chan = transport.open_session(timeout=timeout)
        chan.settimeout(timeout)
        chan.exec_command(backend.get_command(command))
        if stdin:
            chan.sendall(stdin)
        chan.shutdown_write()
        out = chan.makefile("rb").read()
        err = chan.makefile_stderr("rb").read()
        if not chan.status_event.wait(timeout):
            chan.close()
            raise UserError(f"{spec.name}: no answer from `{command.split()[0]}` "
                            f"within {timeout:g} s")
        rc = chan.recv_exit_status()
        chan.close()
        return rc, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")

    return run, target.close
