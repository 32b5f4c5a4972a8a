"""File permissions: the run left sensitive files as strict as Debian ships them."""

from __future__ import annotations

import pytest

from jitsi_sovereign.checks.helpers import run_ok, stats

# path -> (mode, owner, group)
FILES = {
    "/etc/shadow": (0o640, "root", "shadow"),
    "/etc/gshadow": (0o640, "root", "shadow"),
    "/etc/passwd": (0o644, "root", "root"),
    "/etc/group": (0o644, "root", "root"),
    "/etc/ssh": (0o755, "root", "root"),
    "/etc/sudoers": (0o440, "root", "root"),
    "/etc/sudoers.d": (0o755, "root", "root"),
}


@pytest.mark.parametrize("path", list(FILES))
def test_mode(path, target, host):
    """file has its expected mode and owner."""
    st = stats(target, *FILES).get(path)
    assert st is not None, f"{path} does not exist"
    mode, owner, group = FILES[path]
    assert (st.mode, st.owner, st.group) == (mode, owner, group), (
        f"{path} is {st.mode:04o} {st.owner}:{st.group}, wants {mode:04o} {owner}:{group}")


def test_sudoers_d(target, host):
    """files in /etc/sudoers.d are 0440 root:root."""
    out = run_ok(target, "find /etc/sudoers.d -mindepth 1 -maxdepth 1 -printf '%p|%m|%u|%g\\n'",
                 what="listing /etc/sudoers.d")
    entries = [line.split("|") for line in out.splitlines() if line]
    if not entries:
        pytest.skip("/etc/sudoers.d is empty")
    bad = [f"{p} {m} {u}:{g}" for p, m, u, g in entries
           if (int(m, 8), u, g) != (0o440, "root", "root")]
    assert not bad, "not 0440 root:root: " + "; ".join(bad)


def test_state_files(target, os_state):
    """the state files the checks trust are root's alone (dir 0755, files 0644)."""
    out = run_ok(target, "find /etc/jitsi-sovereign /etc/jitsi-sovereign/state -maxdepth 1 "
                 "-printf '%p|%y|%m|%u|%g\\n'", what="listing /etc/jitsi-sovereign/state")
    entries = [line.split("|") for line in out.splitlines() if line]
    bad = [f"{p} {m} {u}:{g}" for p, kind, m, u, g in entries
           if (int(m, 8), u, g) != (0o755 if kind == "d" else 0o644, "root", "root")]
    assert not bad, "not 0644 root:root: " + "; ".join(bad)


def test_no_world_writable_in_etc(target, host):
    """no world-writable file or directory under /etc."""
    out = run_ok(target, "find /etc -xdev \\( -type f -o -type d \\) -perm -0002 -print",
                 what="find /etc -perm -0002")
    found = out.split()
    assert not found, "world-writable under /etc: " + ", ".join(found[:20])
