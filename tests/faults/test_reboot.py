"""The lab host rebooted (issue 14, faults survived on purpose).

``systemctl reboot`` inside the host; the lab's supervisor starts systemd-nspawn again
when it exits with 133 (``jitsi_sovereign.lab.supervise``), as a VM's firmware would.
Before: a ban in fail2ban's sshd jail (192.0.2.77, TEST-NET-1: never a real client).
Promises after the reboot: every service that ran before runs again and none failed, the
firewall's ruleset is the same (the ban's own element aside), the ban is back (in
fail2ban and in the ruleset), and ``jitsi-sovereign verify`` passes (0 failed). The ban
is lifted at the end.
"""

from __future__ import annotations

import re
import subprocess
import sys

from . import faultlib

BANNED = "192.0.2.77"
MARK = "/run/jsov-faults-before-reboot"  # /run is a tmpfs: gone after the reboot
BOOT_TIMEOUT = 180
# Services of a login session, not of the server: they come and go with SSH logins.
SESSION_UNITS = re.compile(r"^user(-runtime-dir)?@\d+\.service$")


def _running(host) -> set[str]:
    out = faultlib.sh(host, "systemctl list-units --type=service --state=running "
                      "--no-legend --plain | cut -d' ' -f1").stdout
    return {u for u in out.split() if not SESSION_UNITS.match(u)}


def _ruleset(host) -> str:
    """The ruleset without what moves on its own (a ban's remaining time, counters) and
    without the test's ban."""
    text = faultlib.sh(host, "nft list ruleset").stdout
    text = re.sub(r" (expires|timeout) [0-9hmsd]+", "", text)
    text = re.sub(r"counter packets \d+ bytes \d+", "counter", text)
    return text.replace(f"{BANNED}, ", "").replace(f", {BANNED}", "").replace(BANNED, "")


def _banned(host) -> tuple[bool, bool]:
    """(fail2ban lists the ban, the ruleset holds the address)."""
    f2b = faultlib.sh(host, "fail2ban-client get sshd banned", check=False).stdout
    nft = faultlib.sh(host, "nft list ruleset").stdout
    return BANNED in f2b, BANNED in nft


def _booted_again(host) -> bool:
    done = faultlib.sh(host, f"test ! -e {MARK} && systemctl is-system-running --wait",
                       check=False, timeout=BOOT_TIMEOUT)
    return done.returncode == 0 or done.stdout.strip() == "degraded"


def test_reboot_brings_everything_back(lab_host):
    """after systemctl reboot: services, firewall, bans back; verify passes."""
    faultlib.sh(lab_host, f"fail2ban-client set sshd banip {BANNED}")
    try:
        faultlib.wait_for("the ban in fail2ban and the ruleset", lambda: all(_banned(lab_host)),
                          timeout=15)
        services, ruleset = _running(lab_host), _ruleset(lab_host)
        faultlib.sh(lab_host, f"touch {MARK}; systemctl reboot", check=False, timeout=30)
        faultlib.wait_for(f"{lab_host.name} back after the reboot (SSH, boot finished)",
                          lambda: _booted_again(lab_host), timeout=BOOT_TIMEOUT, interval=2)

        failed = faultlib.sh(lab_host, "systemctl list-units --failed --no-legend --plain "
                             "| cut -d' ' -f1").stdout.split()
        assert not failed, f"failed units after the reboot: {', '.join(failed)}"
        missing = services - _running(lab_host)
        assert not missing, f"not running after the reboot: {', '.join(sorted(missing))}"
        in_f2b, in_nft = faultlib.wait_for(
            "the ban back after the reboot", lambda: all(_banned(lab_host)) and _banned(lab_host),
            timeout=30)
        assert in_f2b and in_nft
        after = _ruleset(lab_host)
        assert after == ruleset, (
            "the firewall's ruleset after the reboot differs from before:\n"
            + "\n".join(x for x in after.splitlines() if x not in ruleset.splitlines())[:1500])
        faultlib.wait_for("HTTPS answers after the reboot", lambda: faultlib.https_ok(lab_host),
                          timeout=30)
        run = subprocess.run([sys.executable, "-m", "jitsi_sovereign", "verify", "-i",
                              str(lab_host.inventory), "--limit", lab_host.name],
                             capture_output=True, text=True, timeout=300,
                             env={**__import__("os").environ, "COLUMNS": "200"})
        summary = [line for line in run.stdout.splitlines() if " passed, " in line]
        assert run.returncode == 0, (
            f"verify failed after the reboot: {summary}\n"
            + "\n".join(line for line in run.stdout.splitlines() if "FAIL" in line)[:2000])
    finally:
        faultlib.sh(lab_host, f"fail2ban-client set sshd unbanip {BANNED}", check=False)
