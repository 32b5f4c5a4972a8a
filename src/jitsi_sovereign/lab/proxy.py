"""The lab's own apt-cacher-ng: bound to the bridge address only, config under the lab dir.

It is a plain caching proxy: no Remap (the packaged Debian backend points at a mirror
that does not answer here), so it fetches from whatever mirror the hosts' sources name.
"""

from __future__ import annotations

import os
import pwd
import socket
import subprocess
import time
from pathlib import Path

from jitsi_sovereign.errors import UserError
from jitsi_sovereign.lab.config import PROXY_PORT, LabConfig
from jitsi_sovereign.lab.util import (
    cmdline,
    pid_alive,
    read_pid,
    read_text,
    terminate,
    write_file,
)

BINARY = "/usr/sbin/apt-cacher-ng"
SERVICE_USER = "apt-cacher-ng"


def proxy_dir(config: LabConfig) -> Path:
    """All of the proxy's files: conf/, cache/, log/, pid."""
    return config.state_dir / "apt-proxy"


def conf_text(config: LabConfig) -> str:
    """acng.conf of the lab proxy."""
    base = proxy_dir(config)
    return (
        "# apt-cacher-ng of the jitsi-sovereign lab: written by the lab, rewritten at start.\n"
        "# No Remap lines: a plain caching proxy for the mirror the lab hosts ask for.\n"
        f"CacheDir: {base / 'cache'}\n"
        f"LogDir: {base / 'log'}\n"
        "SupportDir: /usr/lib/apt-cacher-ng\n"
        f"SocketPath: {base / 'socket'}\n"
        f"BindAddress: {config.gateway}\n"
        f"Port: {PROXY_PORT}\n"
        "ConnectProto: v4 v6\n"
        "ReportPage: acng-report.html\n"
        "ExThreshold: 4\n"
        "ForeGround: 1\n"
    )


def argv(config: LabConfig) -> list[str]:
    """The command line of the lab proxy (its conf dir makes it recognisable)."""
    return [BINARY, "-c", str(proxy_dir(config) / "conf"), "ForeGround=1"]


def running_pid(config: LabConfig) -> int | None:
    """The proxy's pid if its pid file names a live apt-cacher-ng with our conf dir."""
    pid = read_pid(proxy_dir(config) / "pid")
    if pid and pid_alive(pid) and cmdline(pid) == argv(config):
        return pid
    return None


def answers(config: LabConfig, timeout: float = 0.5) -> bool:
    """True if something accepts connections on the proxy address."""
    try:
        with socket.create_connection((str(config.gateway), PROXY_PORT), timeout=timeout):
            return True
    except OSError:
        return False


def start(config: LabConfig) -> int:
    """Start the proxy unless ours already runs; wait until it listens. Returns its pid."""
    pid = running_pid(config)
    if pid:
        return pid
    if answers(config):
        raise UserError(f"something else listens on {config.gateway}:{PROXY_PORT}",
                        "stop it (ss -ltnp) or give the lab another JSOV_LAB_SUBNET")
    base = proxy_dir(config)
    ids = _service_ids()
    for sub in ("conf", "cache", "log"):
        (base / sub).mkdir(parents=True, exist_ok=True)
        if ids and sub != "conf":
            os.chown(base / sub, *ids)
    write_file(base / "conf" / "acng.conf", conf_text(config))
    log = (base / "log" / "stdout.log").open("ab")
    proc = subprocess.Popen(argv(config), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                            start_new_session=True, close_fds=True,
                            user=ids[0] if ids else None, group=ids[1] if ids else None,
                            extra_groups=[] if ids else None)
    log.close()
    write_file(base / "pid", f"{proc.pid}\n")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (read_text(base / "log" / "stdout.log") or "").strip().splitlines()[-5:]
            raise UserError("the lab apt proxy (apt-cacher-ng) exited at start: "
                            + " / ".join(tail), f"see {base / 'log'}")
        if answers(config):
            return proc.pid
        time.sleep(0.05)
    raise UserError(f"the lab apt proxy does not listen on {config.gateway}:{PROXY_PORT}",
                    f"see {base / 'log'}")


def stop(config: LabConfig) -> bool:
    """Stop our proxy (by its pid, checked); True if one was running."""
    pid = running_pid(config)
    if pid:
        terminate(pid)
    (proxy_dir(config) / "pid").unlink(missing_ok=True)
    return pid is not None


def _service_ids() -> tuple[int, int] | None:
    try:
        entry = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid
