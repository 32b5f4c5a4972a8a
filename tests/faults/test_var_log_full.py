"""/var/log nearly full (issue 14, faults survived on purpose).

Needs a host whose /var/log is a filesystem of its own (``lab up --var-log-mb N``, as
the faults scenario starts it; a server with a /var/log partition, BP-028): the lab
machine's own disk is never filled. Skipped, with that reason, on a host without one.

A file fills /var/log to within a few MiB, then the journal is flooded (``logger``, long
lines). Promises: journald keeps its bounds (its files stay within SystemMaxUse, the
size os_hardening set, and it does not take the free space below SystemKeepFree: what
was free before the flood, or the keep-free reserve if that was more, stays free),
journald, nginx, prosody, coturn and fail2ban stay active with the same main process
(nothing crashed and was restarted), the host still answers SSH, and once the filler is
gone the journal takes new entries again.
"""

from __future__ import annotations

import json
import re
import secrets

import pytest

from . import faultlib

FILLER = "/var/log/jsov-faults.fill"
LEAVE_FREE = 4 * 1024 * 1024  # what the filler leaves free
# journald grows and trims its files by whole blocks and arenas: the free space it may
# take while it respects SystemKeepFree (measured: it keeps the free space within this).
SLACK = 1024 * 1024
UNITS = ("systemd-journald.service", "nginx.service", "prosody.service", "coturn.service",
         "fail2ban.service")
FLOOD = ("head -c 4000 /dev/zero | tr '\\0' x > /run/jsov-faults.line; "
         "for i in $(seq 60); do for j in $(seq 100); do cat /run/jsov-faults.line; "
         "done | logger -t jsov-faults-flood; done; rm -f /run/jsov-faults.line")
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)([KMGT]?)$")


def _bytes(text: str) -> int:
    found = _SIZE.match(text.strip().upper().removesuffix("B").removesuffix("I"))
    assert found, f"not a journald size: {text!r}"
    return int(float(found.group(1)) * 1024 ** " KMGT".index(found.group(2) or " "))


def _free(host) -> tuple[int, int]:
    """(size, bytes available) of /var/log."""
    out = faultlib.sh(host, "stat -f -c '%S %b %a' /var/log").stdout.split()
    block, blocks, avail = map(int, out)
    return block * blocks, block * avail


def _journal_bytes(host) -> int:
    return int(faultlib.sh(host, "du -sb /var/log/journal | cut -f1").stdout)


def _keep_free(host, size: int) -> int:
    """SystemKeepFree in effect: the configured value, else journald's default (15% of the
    file system, at most 4 GiB: journald.conf(5))."""
    conf = faultlib.sh(host, "systemd-analyze cat-config systemd/journald.conf").stdout
    values = re.findall(r"^SystemKeepFree=(\S+)", conf, re.M)
    return _bytes(values[-1]) if values else min(size * 15 // 100, 4 * 1024 ** 3)


def test_var_log_nearly_full(lab_host):
    """journald within its bounds, the daemons up, SSH answers; the journal works after."""
    if faultlib.sh(lab_host, "findmnt -n -o TARGET --target /var/log").stdout.strip() \
            != "/var/log":
        pytest.skip("/var/log is not a filesystem of its own on this host: filling it would "
                    "fill the root (the lab machine's disk); start the host with "
                    "`jitsi-sovereign lab up --var-log-mb 64`")
    journald = faultlib.state(lab_host, "os_hardening").get("journald") or {}
    assert journald.get("system_max_use"), (
        f"os_hardening.json promises no journald.system_max_use: {json.dumps(journald)}")
    max_use = _bytes(str(journald["system_max_use"]))
    size, _ = _free(lab_host)
    keep_free = _keep_free(lab_host, size)
    before = {u: faultlib.unit(lab_host, u) for u in UNITS}
    assert all(p["ActiveState"] == "active" for p in before.values()), before
    faultlib.sh(lab_host, f"rm -f {FILLER}")
    try:
        _, avail = _free(lab_host)
        faultlib.sh(lab_host, f"fallocate -l {max(avail - LEAVE_FREE, 0)} {FILLER}")
        _, free_before = _free(lab_host)
        floor = min(free_before, keep_free) - SLACK
        faultlib.sh(lab_host, FLOOD, timeout=600)
        faultlib.sh(lab_host, "journalctl --sync", check=False)
        _, free_after = _free(lab_host)
        journal = _journal_bytes(lab_host)
        after = {u: faultlib.unit(lab_host, u) for u in UNITS}
        ssh = faultlib.ssh_ok(lab_host)
    finally:
        faultlib.sh(lab_host, f"rm -f {FILLER}", check=False)
    assert journal <= max_use, (
        f"the journal takes {journal} bytes, more than SystemMaxUse {max_use}")
    assert free_after >= floor, (
        f"journald took the free space of /var/log from {free_before} down to {free_after} "
        f"bytes (SystemKeepFree {keep_free})")
    changed = {u: (before[u]["MainPID"], p["MainPID"], p["ActiveState"])
               for u, p in after.items()
               if p["ActiveState"] != "active" or p["MainPID"] != before[u]["MainPID"]}
    assert not changed, f"crashed or restarted with /var/log full (old PID, new, state): {changed}"
    assert ssh, "the host did not answer SSH with /var/log full"
    # The filler gone: new entries reach the journal again.
    marker = f"jsov-faults-after-{secrets.token_hex(4)}"
    faultlib.sh(lab_host, f"logger -t jsov-faults {marker}; journalctl --sync")
    faultlib.wait_for("a new journal entry after /var/log was freed",
                      lambda: marker in faultlib.sh(
                          lab_host, f"journalctl -q -t jsov-faults -g {marker} -o cat",
                          check=False).stdout, timeout=15)
