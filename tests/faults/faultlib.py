"""What the fault tests share: a shell on the host, unit properties, bounded waits, and
the probes that tell a service works again (HTTPS from the controller, an XMPP guest
login and the fail2ban socket on the host, a TURN answer from the controller, an SSH
login).

Every wait is bounded; a probe returns a short text saying what it saw, so that a failed
assertion names it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from jitsi_sovereign.checks import turnprobe, xmpp

T = TypeVar("T")

STATE_DIR = "/etc/jitsi-sovereign/state"
_XMPP_PROBE = Path(xmpp.__file__).read_text()


def sh(host, script: str, *, check: bool = True, stdin: str | None = None,
       timeout: float = 120) -> subprocess.CompletedProcess:
    """Run a shell script as root on the host (one SSH call)."""
    return host.sudo("sh", "-c", shlex.quote(script), check=check, stdin=stdin,
                     timeout=timeout)


def state(host, role: str) -> dict:
    """A role's state file on the host (what it deployed)."""
    return json.loads(sh(host, f"cat {STATE_DIR}/{role}.json").stdout)


def unit(host, name: str, *props: str) -> dict[str, str]:
    """systemd properties of one unit."""
    wanted = props or ("LoadState", "ActiveState", "SubState", "MainPID", "Result",
                       "NRestarts", "Restart")
    out = sh(host, f"systemctl show -p {','.join(wanted)} {shlex.quote(name)}").stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def wait_for(what: str, probe: Callable[[], T | None], timeout: float,
             interval: float = 0.5) -> T:
    """``probe()``'s first true value within ``timeout`` s; else AssertionError naming
    ``what`` and the last value or error seen."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = probe()
            if value:
                return value
            last = value
        except (OSError, subprocess.SubprocessError, ValueError) as exc:
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s (last: {last!r})")
        time.sleep(interval)


# ------------------------------------------------------------------ probes


def https(host, timeout: float = 3.0) -> tuple[int, str]:
    """GET / over HTTPS from the controller (SNI the meeting domain, chain verified
    against the lab's issuing root): (HTTP status, SHA-256 of the served certificate)."""
    ctx = ssl.create_default_context(cafile=str(host.root_ca))
    with socket.create_connection((host.address, 443), timeout=timeout) as raw, \
            ctx.wrap_socket(raw, server_hostname=host.domain) as tls:
        der = tls.getpeercert(binary_form=True)
        tls.sendall(f"GET / HTTP/1.1\r\nHost: {host.domain}\r\nConnection: close\r\n\r\n"
                    .encode())
        head = tls.recv(64).decode(errors="replace")
    status = int(head.split()[1]) if head.startswith("HTTP/") else 0
    return status, hashlib.sha256(der).hexdigest()


def https_ok(host) -> str | None:
    """The served certificate's fingerprint when / answers 200, else None."""
    status, fingerprint = https(host)
    return fingerprint if status == 200 else None


def xmpp_guest(host) -> dict:
    """An anonymous login on the guest domain (prosody listens on loopback: the probe runs
    on the host); the probe's JSON answer."""
    domain = state(host, "prosody")["guest_domain"]
    request = json.dumps({"domain": domain, "mechanism": "ANONYMOUS"})
    out = host.sudo("python3", "-c", shlex.quote(_XMPP_PROBE), shlex.quote(request),
                    check=False, timeout=30)
    try:
        return json.loads(out.stdout)
    except ValueError:
        return {"error": (out.stderr or out.stdout).strip()[-300:]}


def xmpp_ok(host) -> bool:
    return (xmpp_guest(host).get("auth") or {}).get("result") == "success"


def turn_answers(host) -> str:
    """A TURN Allocate from the controller with a wrong secret: coturn answers 401 when it
    runs (no secret needed to prove it listens and works)."""
    username, password = turnprobe.rest_credentials("not-the-secret-" + "x" * 32)
    with turnprobe.TurnClient(host.address, 3478, timeout=1.0, tries=2) as client:
        return str(client.allocate(username, password))


def fail2ban_ok(host) -> bool:
    out = sh(host, "fail2ban-client ping && fail2ban-client status sshd", check=False)
    return out.returncode == 0 and "pong" in out.stdout and "Currently banned" in out.stdout


def ssh_ok(host) -> bool:
    """A new SSH login (host key checked) runs a command."""
    return sh(host, "true", check=False, timeout=20).returncode == 0


def verify(host, check_id: str) -> tuple[int, dict]:
    """`jitsi-sovereign verify` of the host, as a user runs it: (exit code, the finding of
    ``check_id``, e.g. ``verify:tls.last_renewal``)."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "verify.json"
        run = subprocess.run([sys.executable, "-m", "jitsi_sovereign", "verify", "-i",
                              str(host.inventory), "--limit", host.name, "--json",
                              str(report)], capture_output=True, text=True, timeout=300,
                             env={**os.environ, "COLUMNS": "200"})
        findings = json.loads(report.read_text())["findings"] if report.exists() else []
    mine = [f for f in findings if f["id"] == check_id]
    assert mine, f"verify reported no {check_id} (rc={run.returncode}): {run.stderr[-500:]}"
    return run.returncode, mine[0]
