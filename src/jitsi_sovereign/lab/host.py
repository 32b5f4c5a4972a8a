"""One lab host: its directory, overlay root, first-boot files, processes.

``<labdir>/hosts/<name>/``: ``meta.json``, ``upper/`` + ``work/`` (overlay), ``root/``
(the mounted overlay), ``password`` (0600), ``console.log``, ``supervise.pid``,
``nspawn.pid``, ``exit`` (status of nspawn when the host stopped on its own); with a
/var/log of its own: ``var-log-mb`` (its size in MiB), ``var-log.img`` (a sparse ext4
image of that size) loop-mounted on ``var-log/``, bound at the host's /var/log. The size
is a file of its own, not a field of ``meta.json``: a lab tool that predates it reads
such a host's metadata as before (an unknown field would make it take the host for a
leftover and remove it).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from jitsi_sovereign.errors import UserError
from jitsi_sovereign.lab import cgroups, files
from jitsi_sovereign.lab.config import LabConfig
from jitsi_sovereign.lab.util import (
    cmdline,
    mounts_under,
    pid_alive,
    read_pid,
    read_text,
    remove_tree,
    run,
    unmount_all,
    write_file,
)

MARKER_ENV = "JSOV_LAB_MARKER"
SUPERVISE_MODULE = "jitsi_sovereign.lab.supervise"
STOP_TIMEOUT = 10.0
# Give the container a pure cgroup v2 tree even when the machine has a hybrid v1/v2
# layout: systemd 257 (trixie) has no cgroup v1 support, and stopping user@.service
# then hangs for 90 s at every reboot.
NSPAWN_ENV = {"SYSTEMD_NSPAWN_UNIFIED_HIERARCHY": "1"}


@dataclass
class HostMeta:
    """What the lab remembers about a host (``meta.json``)."""

    name: str
    address: str
    debian: str
    image: str  # overlay lower dir
    marker: str
    # The host's apt package lists at first boot: "image" (the image build's own, as a VM
    # updated when it was made) or "removed" (none, in a directory modified at boot: a
    # cloud image whose lists were deleted after its build).
    apt_lists: str = "image"


KINDS = ("nspawn", "vm")


@dataclass(frozen=True)
class HostOptions:
    """What ``lab up`` was asked for a host beyond its ``HostMeta`` (``options.json``)."""

    kind: str = "nspawn"  # nspawn: a container; vm: a qemu VM (lab.vm)
    # The lab inventory gives the host no jitsi_sovereign_domain: site.yml deploys the
    # hardened base only (os_hardening, firewall) there.
    base_only: bool = False


# --var-log-mb: 0 (no filesystem of its own), or a size in this range (MiB). Below 16 MiB
# ext4's own journal and metadata leave too little room to test anything.
VAR_LOG_MB_RANGE = (16, 1024)


def check_var_log_mb(size: int) -> None:
    """Refuse a /var/log size outside 0 or VAR_LOG_MB_RANGE, naming the fix."""
    low, high = VAR_LOG_MB_RANGE
    if size != 0 and not low <= size <= high:
        raise UserError(f"--var-log-mb {size}: out of range",
                        f"use 0 (/var/log on the root filesystem) or {low} to {high} MiB")


class HostDir:
    """Paths and processes of one host."""

    def __init__(self, config: LabConfig, name: str) -> None:
        self.config = config
        self.name = name
        self.path = config.state_dir / "hosts" / name

    # -------------------------------------------------------------- files
    @property
    def root(self) -> Path:
        """Mount point of the host's overlay root."""
        return self.path / "root"

    def meta(self) -> HostMeta | None:
        """The saved metadata, None if missing or unreadable. Fields this version does not
        know (written by a newer one) are ignored: the host is not a leftover for that."""
        try:
            data = json.loads(read_text(self.path / "meta.json") or "null")
            known = {f.name for f in fields(HostMeta)}
            return HostMeta(**{k: v for k, v in data.items() if k in known})
        except (AttributeError, TypeError, ValueError):
            return None

    def var_log_mb(self) -> int:
        """Size in MiB of the host's own /var/log filesystem (a loop-mounted ext4 image in
        its directory, as a server with a /var/log partition: a full /var/log never fills
        the lab machine's disk), or 0: /var/log is part of the root."""
        text = read_text(self.path / "var-log-mb")
        return int(text) if text and text.strip().isdigit() else 0

    def save_var_log_mb(self, size: int) -> None:
        """Record the /var/log size of a new host (nothing for 0)."""
        if size:
            write_file(self.path / "var-log-mb", f"{size}\n")

    def save_meta(self, meta: HostMeta) -> None:
        """Write ``meta.json``."""
        write_file(self.path / "meta.json", json.dumps(asdict(meta), indent=2) + "\n")

    def password(self) -> str | None:
        """The lab-only password of the lab user."""
        text = read_text(self.path / "password")
        return text.strip() if text else None

    def prepared(self) -> bool:
        """True once the first-boot files are in the overlay."""
        return (self.path / "prepared").is_file()

    def options(self) -> HostOptions:
        """How the host was made (``options.json``; a host made before it: the defaults).

        Kept apart from ``meta.json``, which older lab code reads with a fixed set of
        fields: a lab shared with it must not take a new host for a broken leftover."""
        try:
            return HostOptions(**json.loads(read_text(self.path / "options.json") or "{}"))
        except (TypeError, ValueError):
            return HostOptions()

    def save_options(self, options: HostOptions) -> None:
        """Write ``options.json``."""
        write_file(self.path / "options.json", json.dumps(asdict(options), indent=2) + "\n")

    # -------------------------------------------------------------- processes
    def supervisor_pid(self) -> int | None:
        """The live supervisor of this host (its cmdline names our module and marker)."""
        meta = self.meta()
        pid = read_pid(self.path / "supervise.pid")
        if not meta or not pid or not pid_alive(pid):
            return None
        argv = cmdline(pid)
        return pid if SUPERVISE_MODULE in argv and meta.marker in argv else None

    def nspawn_pid(self) -> int | None:
        """The live systemd-nspawn of this host (its cmdline carries our marker)."""
        meta = self.meta()
        pid = read_pid(self.path / "nspawn.pid")
        if not meta or not pid or not pid_alive(pid):
            return None
        argv = cmdline(pid)
        ours = argv and argv[0].endswith("systemd-nspawn") and marker_arg(meta.marker) in argv
        return pid if ours else None

    def pid(self) -> int | None:
        """The process that is the host: systemd-nspawn here."""
        return self.nspawn_pid()

    def state(self) -> str:
        """running | stopped (it powered off on its own) | stale (leftover of a lost run)."""
        if self.supervisor_pid() or self.nspawn_pid():
            return "running"
        meta = self.meta()
        if meta and find_container_init(meta.marker):
            return "stale"  # orphaned container: systemd lives on without nspawn
        if (self.path / "exit").is_file() and self.prepared():
            return "stopped"  # powered off from inside: up boots it again on its own disk
        return "stale"

    def mounted(self) -> bool:
        """True if the overlay root is mounted."""
        return bool(mounts_under(self.root))

    @property
    def var_log(self) -> Path:
        """Mount point (lab side) of the host's own /var/log filesystem, if it has one."""
        return self.path / "var-log"


def marker_arg(marker: str) -> str:
    """The nspawn option that puts the marker in the container's PID 1 environment."""
    return f"--setenv={MARKER_ENV}={marker}"


def new_marker(config: LabConfig, name: str) -> str:
    """A unique marker: lab id, host name, random part."""
    return f"{lab_id(config)}.{name}.{secrets.token_hex(6)}"


def lab_id(config: LabConfig) -> str:
    """A short id of this lab (its state dir), the prefix of its markers."""
    import hashlib

    return "jsov-" + hashlib.sha256(str(config.state_dir).encode()).hexdigest()[:10]


def _environ_has(pid: int, needle: bytes) -> bool:
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return needle in env.split(b"\0")


def _is_namespace_init(pid: int) -> bool:
    """True if the process is PID 1 of its own PID namespace."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    for line in status.splitlines():
        if line.startswith("NSpid:"):
            ids = line.split()[1:]
            return len(ids) > 1 and ids[-1] == "1"
    return False


def find_container_init(marker: str) -> int | None:
    """PID (host view) of the container's PID 1 carrying exactly this marker."""
    pids = find_container_inits(lambda m: m == marker)
    return pids[0][0] if pids else None


def find_container_inits(match) -> list[tuple[int, str]]:
    """(pid, marker) of every container PID 1 whose marker satisfies ``match``."""
    found = []
    prefix = f"{MARKER_ENV}=".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            env = (entry / "environ").read_bytes()
        except OSError:
            continue
        for item in env.split(b"\0"):
            if item.startswith(prefix):
                marker = item[len(prefix):].decode(errors="replace")
                if match(marker) and _is_namespace_init(pid):
                    found.append((pid, marker))
    return found


# ------------------------------------------------------------------ preparation


def mount_overlay(host: HostDir, lower: Path) -> None:
    """Mount lower (the image) + upper (the host) on ``root``."""
    for sub in ("upper", "work", "root"):
        (host.path / sub).mkdir(parents=True, exist_ok=True)
    if host.mounted():
        return
    opts = f"lowerdir={lower},upperdir={host.path / 'upper'},workdir={host.path / 'work'}"
    proc = run(["mount", "-t", "overlay", f"jsov-{host.name}", "-o", opts, str(host.root)],
               check=False)
    if proc.returncode != 0:
        raise UserError(f"cannot mount the overlay root of {host.name}: {proc.stderr.strip()}",
                        "lab hosts need overlayfs mounts as root on a filesystem that "
                        "supports them as upper dir (ext4, xfs, btrfs); set JSOV_LAB_DIR "
                        "to a directory on one")


def mount_var_log(host: HostDir) -> None:
    """The host's own /var/log filesystem (``host.var_log_mb()`` MiB of ext4 in a sparse
    image file), loop-mounted on ``host.var_log``; made at first boot with the image's
    /var/log copied in (owners and modes kept). The overlay root must be mounted."""
    size = host.var_log_mb()
    if not size or mounts_under(host.var_log):
        return
    img = host.path / "var-log.img"
    fresh = not img.exists()
    if fresh:
        with img.open("wb") as fh:
            fh.truncate(size * 1024 * 1024)
        # -m 0: no blocks reserved for root (journald and the daemons run as root: the
        # reserve would hide how full the filesystem really is).
        run(["mkfs.ext4", "-q", "-F", "-m", "0", "-L", "var-log", str(img)])
    host.var_log.mkdir(exist_ok=True)
    run(["mount", "-o", "loop,nodev,nosuid,noexec", str(img), str(host.var_log)])
    if fresh:
        (host.var_log / "lost+found").rmdir()
        run(["cp", "-a", f"{host.root / 'var/log'}/.", str(host.var_log)])


def prepare(host: HostDir, meta: HostMeta, lab_public_key: str, known_hosts: Path) -> None:
    """Write the per-host files into the mounted overlay before first boot."""
    cfg, root = host.config, host.root
    write_file(root / "etc/hostname", f"{meta.name}\n")
    write_file(root / "etc/hosts", files.hosts_file(read_text(root / "etc/hosts") or
                                                    "127.0.0.1\tlocalhost", meta.name))
    _replace_with_file(root / "etc/resolv.conf",
                       "# lab host: no DNS; apt goes through the lab proxy\n")
    write_file(root / "etc/systemd/network/10-host0.network",
               files.network_unit(meta.address, cfg.subnet.prefixlen, str(cfg.gateway)))
    write_file(root / "etc/apt/apt.conf.d/01lab-proxy", files.apt_proxy_conf(cfg.proxy_url))
    public = host_key(host, root)
    write_file(known_hosts, files.known_hosts_with(read_text(known_hosts) or "", meta.address,
                                                   public))
    _authorize(root, lab_public_key)
    _set_password(host, root)
    if meta.apt_lists == "removed":
        clear_apt_lists(root)
    write_file(host.path / "prepared", "")


APT_LISTS_STATES = ("image", "removed")


def clear_apt_lists(root: Path) -> None:
    """The apt state of a fresh cloud image built with its lists deleted: no package index,
    no update-success stamp, no binary cache, and a list directory modified just now (which
    ansible.builtin.apt's cache_valid_time takes for a fresh update)."""
    lists = root / "var/lib/apt/lists"
    for path in lists.glob("*"):
        if path.is_file() and path.name != "lock":
            path.unlink()
    for path in [root / "var/lib/apt/periodic/update-success-stamp",
                 *(root / "var/cache/apt").glob("*.bin")]:
        path.unlink(missing_ok=True)
    os.utime(lists)


def _replace_with_file(path: Path, text: str) -> None:
    if path.is_symlink():
        path.unlink()
    write_file(path, text)


def host_key(host: HostDir, root: Path) -> str:
    """A fresh ed25519 host key under ``root`` (the overlay, a VM's seed); its public line."""
    with tempfile.TemporaryDirectory(dir=host.path) as tmp:
        key = Path(tmp) / "ssh_host_ed25519_key"
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{host.name}",
             "-f", str(key)])
        write_file(root / "etc/ssh/ssh_host_ed25519_key", key.read_text(), 0o600)
        public = key.with_suffix(".pub").read_text()
        write_file(root / "etc/ssh/ssh_host_ed25519_key.pub", public, 0o644)
    return public


def _user_ids(root: Path, user: str) -> tuple[int, int, Path]:
    for line in (read_text(root / "etc/passwd") or "").splitlines():
        fields = line.split(":")
        if fields[0] == user:
            return int(fields[2]), int(fields[3]), Path(fields[5].lstrip("/"))
    raise RuntimeError(f"user {user} missing from the lab image")


def _authorize(root: Path, public_key: str) -> None:
    uid, gid, home = _user_ids(root, files.LAB_USER)
    ssh_dir = root / home / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    write_file(ssh_dir / "authorized_keys", public_key.strip() + "\n", 0o600)
    for path in (ssh_dir, ssh_dir / "authorized_keys"):
        os.chown(path, uid, gid)


def new_password(host: HostDir) -> str:
    """A new lab-only password for the lab user, kept in ``password`` (0600); its crypt hash."""
    password = secrets.token_urlsafe(18)
    crypted = run(["openssl", "passwd", "-6", "-stdin"], input_text=password).stdout.strip()
    write_file(host.path / "password", password + "\n", 0o600)
    return crypted


def _set_password(host: HostDir, root: Path) -> None:
    crypted = new_password(host)
    shadow = root / "etc/shadow"
    st = shadow.stat()
    write_file(shadow, files.shadow_with_password(shadow.read_text(), files.LAB_USER, crypted),
               st.st_mode & 0o777)
    os.chown(shadow, st.st_uid, st.st_gid)  # keep root:shadow, as on a real Debian


# ------------------------------------------------------------------ start and stop


def nspawn_argv(host: HostDir, meta: HostMeta) -> list[str]:
    """The systemd-nspawn command that boots the host on the lab bridge."""
    argv = ["systemd-nspawn", "-D", str(host.root), "-M", meta.name, "--register=no",
            "--keep-unit", "--boot", f"--network-bridge={host.config.bridge}",
            "--resolv-conf=off", "--timezone=off", "--link-journal=no",
            "--console=read-only", marker_arg(meta.marker)]
    if host.var_log_mb():
        argv.append(f"--bind={host.var_log}:/var/log")
    return argv


def supervisor_argv(host: HostDir, meta: HostMeta, child: list[str] | None = None,
                    pid_name: str = "nspawn.pid") -> list[str]:
    """The supervisor command (our module, the marker, then the child's argv: nspawn's
    unless given, with its pid in ``pid_name``)."""
    return [sys.executable, "-m", SUPERVISE_MODULE, "--marker", meta.marker,
            "--pid-file", str(host.path / pid_name), "--exit-file", str(host.path / "exit"),
            "--", *(child or nspawn_argv(host, meta))]


def start(host: HostDir, meta: HostMeta, child: list[str] | None = None,
          pid_name: str = "nspawn.pid") -> int:
    """Start the supervisor detached (own session), console to ``console.log``."""
    (host.path / "exit").unlink(missing_ok=True)
    env = {**os.environ, **NSPAWN_ENV}
    argv = supervisor_argv(host, meta, child, pid_name)
    with (host.path / "console.log").open("ab") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                close_fds=True, cwd="/", env=env)
    write_file(host.path / "supervise.pid", f"{proc.pid}\n")
    return proc.pid


def wait_gone(pids: list[int], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while any(pid_alive(p) for p in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def request_stop(host: HostDir) -> list[int]:
    """SIGTERM the supervisor (it passes it on to nspawn), or nspawn if alone; their pids."""
    sup, nspawn = host.supervisor_pid(), host.nspawn_pid()
    target = sup or nspawn
    if target:
        os.kill(target, signal.SIGTERM)
    return [p for p in (sup, nspawn) if p]


def finish_stop(host: HostDir, pids: list[int]) -> None:
    """Wait for ``pids``; SIGKILL only an orphaned container PID 1 (found by its marker)."""
    wait_gone(pids, STOP_TIMEOUT)
    meta = host.meta()
    if meta:
        orphan = find_container_init(meta.marker)
        if orphan:
            os.kill(orphan, signal.SIGKILL)
            wait_gone([orphan], 5)
        for path in cgroups.leftovers(meta.marker):
            cgroups.remove_tree(path)
    for name in ("supervise.pid", "nspawn.pid"):
        (host.path / name).unlink(missing_ok=True)


def stop_processes(host: HostDir) -> None:
    """Stop the host's processes: SIGTERM, wait, never SIGKILL nspawn."""
    finish_stop(host, request_stop(host))


def remove(host: HostDir) -> None:
    """Unmount the overlay and delete the host dir (processes must be gone)."""
    unmount_all(host.path)
    remove_tree(host.path)


def wait_ssh(hosts: dict[str, tuple[str, HostDir]], timeout: float,
             login: Callable[[str], bool]) -> list[str]:
    """Wait until every host answers SSH and ``login(name)`` works; names that did not."""
    pending = dict(hosts)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for name, (address, host) in list(pending.items()):
            if _ssh_banner(address) and login(name):
                del pending[name]
            elif not host.supervisor_pid():
                return [name]
        if pending:
            time.sleep(0.1)
    return list(pending)


def _ssh_banner(address: str) -> bool:
    try:
        with socket.create_connection((address, 22), timeout=0.3) as sock:
            sock.settimeout(1.0)
            return sock.recv(64).startswith(b"SSH-")
    except OSError:
        return False


def console_tail(host: HostDir, lines: int = 12) -> str:
    """The last lines of the host's console log."""
    text = read_text(host.path / "console.log") or ""
    return "\n".join("    " + ln for ln in text.splitlines()[-lines:])
