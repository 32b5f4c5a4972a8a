"""A cgroup of its own for each lab host.

Without systemd as PID 1, ``systemd-nspawn --keep-unit`` puts the container's tree
under ``<its own cgroup>/payload``. Every nspawn started from the same cgroup would
share that tree, and each container's systemd would then see (and kill, and wait for)
the other containers' processes. The supervisor therefore moves itself into
``<own cgroup>/<marker>`` in the cgroup2 and ``name=systemd`` hierarchies first.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def hierarchies(mountinfo: str | None = None,
                proc_cgroup: str | None = None) -> list[tuple[Path, str]]:
    """(mount point, own cgroup path) of the cgroup2 and name=systemd hierarchies."""
    if mountinfo is None:
        mountinfo = Path("/proc/self/mountinfo").read_text()
    if proc_cgroup is None:
        proc_cgroup = Path("/proc/self/cgroup").read_text()
    own: dict[str, str] = {}
    for line in proc_cgroup.splitlines():
        _, controllers, path = line.split(":", 2)
        own[controllers] = path
    found: list[tuple[Path, str]] = []
    for line in mountinfo.splitlines():
        pre, _, post = line.partition(" - ")
        fstype, _source, options = ([*post.split(), "", "", ""])[:3]
        if pre.split()[3] != "/":
            continue  # a bind of a sub-tree: not the hierarchy's root
        key = ""
        if fstype == "cgroup" and "name=systemd" in options.split(","):
            key = "name=systemd"
        elif fstype != "cgroup2":
            continue
        if key in own and not any(m == Path(pre.split()[4]) for m, _ in found):
            found.append((Path(pre.split()[4]), own[key]))
    return found


def enter(name: str) -> list[Path]:
    """Move this process into ``<own>/<name>`` of each hierarchy; returns those dirs."""
    made = []
    for mount, own in hierarchies():
        path = mount / own.lstrip("/") / name
        try:
            path.mkdir(exist_ok=True)
            (path / "cgroup.procs").write_text(f"{os.getpid()}\n")
        except OSError as exc:
            print(f"[supervise] cannot use cgroup {path}: {exc}", flush=True)
            continue
        made.append(path)
    return made


def leave(paths: list[Path]) -> None:
    """Move back to the parent cgroups and remove ours (the container must be gone)."""
    for path in paths:
        try:
            (path.parent / "cgroup.procs").write_text(f"{os.getpid()}\n")
        except OSError:
            continue
        remove_tree(path)


def remove_tree(path: Path) -> None:
    """rmdir a cgroup and its empty children, deepest first (best effort)."""
    if not path.is_dir():
        return
    for dirpath, _dirs, _files in os.walk(path, topdown=False):
        with contextlib.suppress(OSError):
            os.rmdir(dirpath)


def leftovers(name: str) -> list[Path]:
    """Cgroup dirs of that name under our own cgroup or the root (a dead supervisor's)."""
    found = []
    for mount, own in hierarchies():
        for base in {mount / own.lstrip("/"), mount}:
            if (base / name).is_dir():
                found.append(base / name)
    return found
