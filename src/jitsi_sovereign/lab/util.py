"""Small helpers shared by the lab modules: commands, locks, mounts, files."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from jitsi_sovereign.errors import UserError
from jitsi_sovereign.fileio import write_atomic


def run(argv: list[str], *, input_text: str | None = None, check: bool = True,
        timeout: float | None = 600) -> subprocess.CompletedProcess[str]:
    """Run a command (argv list), capture its output; raise UserError on failure."""
    proc = subprocess.run(argv, input=input_text, capture_output=True, text=True,
                          timeout=timeout, check=False)
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-15:]
        raise UserError(f"command failed ({proc.returncode}): {' '.join(argv)}\n"
                        + "\n".join("    " + line for line in detail))
    return proc


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on ``path`` (created if missing) for the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def write_file(path: Path, text: str, mode: int = 0o644) -> None:
    """Write ``text`` whole or not at all, with ``mode`` (the CLI's one atomic writer,
    ``fileio.write_atomic``; 0644 unless said)."""
    write_atomic(path, text, mode)


def read_text(path: Path) -> str | None:
    """File content, or None if it does not exist."""
    try:
        return path.read_text()
    except (FileNotFoundError, NotADirectoryError):
        return None


def _unescape_mount(field: str) -> str:
    """Decode the octal escapes (\\040 ...) of /proc/self/mountinfo."""
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def mounts_under(path: Path, mountinfo: str | None = None) -> list[Path]:
    """Mount points at or below ``path``, deepest first."""
    if mountinfo is None:
        mountinfo = Path("/proc/self/mountinfo").read_text()
    base = str(path.resolve())
    found = []
    for line in mountinfo.splitlines():
        fields = line.split()
        if len(fields) < 5:
            continue
        target = _unescape_mount(fields[4])
        if target == base or target.startswith(base.rstrip("/") + "/"):
            found.append(Path(target))
    return sorted(set(found), key=lambda p: len(p.parts), reverse=True)


def unmount_all(path: Path) -> None:
    """Unmount everything at or below ``path`` (deepest first); raise if one stays."""
    for target in mounts_under(path):
        proc = run(["umount", str(target)], check=False)
        if proc.returncode != 0:
            run(["umount", "--lazy", str(target)], check=False)
    left = mounts_under(path)
    if left:
        raise UserError(f"cannot unmount {', '.join(map(str, left))}",
                        "find what uses it (fuser -vm PATH) and stop it, then retry")


def remove_tree(path: Path) -> None:
    """Delete a directory tree, never crossing into something still mounted below it."""
    if not path.exists():
        return
    unmount_all(path)
    shutil.rmtree(path)


def pid_alive(pid: int) -> bool:
    """True if a process with this pid exists (zombies count as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    # state is the field after the ")" that closes the command name
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def cmdline(pid: int) -> list[str]:
    """The argv of a process ([] if gone)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def read_pid(path: Path) -> int | None:
    """A pid from a pid file, None if missing or garbage."""
    text = read_text(path)
    if text is None:
        return None
    try:
        pid = int(text.strip())
    except ValueError:
        return None
    return pid if pid > 1 else None


def terminate(pid: int, grace: float = 5.0) -> None:
    """SIGTERM a helper of ours (never nspawn), wait up to ``grace`` s, then SIGKILL it."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
