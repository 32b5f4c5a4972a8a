"""fail2ban: the sshd jail reads the journal and bans with nftables."""

from __future__ import annotations

import pytest

from jitsi_sovereign.checks import parsers
from jitsi_sovereign.checks.helpers import require_area, run_ok, units


@pytest.fixture(scope="module")
def f2b_state(os_state):
    require_area(os_state, "fail2ban")
    return os_state.get("fail2ban") or {}


SEP = "=====jsov====="


@pytest.fixture(scope="module")
def f2b(f2b_state, target) -> dict[str, str]:
    """Everything fail2ban says about the sshd jail, in one command (the client is slow)."""
    out = run_ok(target, f"fail2ban-client status sshd && echo {SEP} && "
                 f"fail2ban-client get sshd actions && echo {SEP} && "
                 f"fail2ban-client get sshd journalmatch && echo {SEP} && "
                 "(ls /usr/lib/openssh /usr/libexec/openssh 2>/dev/null; true)",
                 what="fail2ban-client status/get sshd")
    parts = out.split(SEP)
    if len(parts) != 4:
        pytest.fail(f"unexpected fail2ban-client output: {out[:200]!r}", pytrace=False)
    return dict(zip(("status", "actions", "journalmatch", "openssh"), parts, strict=True))


@pytest.fixture(scope="module")
def sshd_jail(f2b) -> str:
    return f2b["status"]


def test_service(f2b_state, target):
    """fail2ban.service is enabled and active."""
    unit = units(target, "fail2ban.service").get("fail2ban.service", {})
    assert unit.get("UnitFileState") == "enabled", (
        f"fail2ban.service is {unit.get('UnitFileState') or 'missing'}, not enabled")
    assert unit.get("ActiveState") == "active", (
        f"fail2ban.service is {unit.get('ActiveState')}/{unit.get('SubState')}")


def test_sshd_jail(sshd_jail):
    """the sshd jail is running (fail2ban-client status sshd)."""
    assert "Status for the jail: sshd" in sshd_jail, sshd_jail.strip()


def test_backend_systemd(sshd_jail):
    """the sshd jail reads the systemd journal (Debian has no auth.log without rsyslog)."""
    assert "Journal matches:" in sshd_jail, (
        "the sshd jail does not read the journal (no 'Journal matches' in its status): "
        + " ".join(sshd_jail.split()))


def test_banaction_nftables(f2b_state, f2b):
    """the sshd jail bans with an nftables action."""
    actions = [a.strip() for a in f2b["actions"].strip().splitlines()[1:] if a.strip()]
    promised = f2b_state.get("banaction", "nftables-multiport")
    assert promised.startswith("nftables"), f"os_hardening.json promises banaction {promised}"
    assert promised in actions, f"sshd jail actions are {actions}, promised {promised}"


def test_journal_match(f2b):
    """the sshd jail's journal match lets sshd's login failures through."""
    binaries = f2b["openssh"]
    lines = [ln for ln in f2b["journalmatch"].splitlines() if ln.strip()]
    match = " ".join(lines[1:]) if lines and lines[0].startswith("Current match") else ""
    # OpenSSH >= 9.8 logs authentication from sshd-session (inside ssh.service), older
    # versions from sshd itself.
    comm = "sshd-session" if "sshd-session" in binaries.split() else "sshd"
    entry = {"_SYSTEMD_UNIT": "ssh.service", "_COMM": comm}
    assert parsers.journal_match_covers(match, entry), (
        f"the sshd jail's journal match ({match or 'none'}) does not let through the "
        f"messages of {comm} in ssh.service: failed logins are never counted")


def test_bans_in_nftables(f2b_state, sshd_jail, nft):
    """addresses banned by the sshd jail are in fail2ban's nftables table."""
    banned_line = next((ln for ln in sshd_jail.splitlines() if "Banned IP list:" in ln), "")
    banned = banned_line.split("Banned IP list:", 1)[-1].split()
    if not banned:
        pytest.skip("no address is banned now: fail2ban creates its nftables table "
                    "(inet f2b-table) at the first ban")
    tables = [t for f, t in nft.tables if t.startswith("f2b")]
    assert tables, ("addresses are banned but no fail2ban table is loaded in nftables "
                    "(was the ruleset flushed?)")
    elements = {str(e) for (f, t, _), elems in nft.sets.items() if t in tables for e in elems}
    missing = [ip for ip in banned if ip not in elements]
    assert not missing, f"banned but not in fail2ban's nftables sets: {', '.join(missing)}"


# fail2ban's own files: its settings are overridden in .local files, never edited in place.
PACKAGE_CONF = ["/etc/fail2ban/jail.conf", "/etc/fail2ban/fail2ban.conf"]


def test_settings_in_local_files(f2b_state, target):
    """fail2ban's settings are in a .local file; jail.conf and fail2ban.conf are the package's."""
    jail_file = f2b_state.get("jail_file") or ""
    assert jail_file == "/etc/fail2ban/jail.local" or (
        jail_file.startswith("/etc/fail2ban/jail.d/") and jail_file.endswith(".local")), (
        f"os_hardening.json names {jail_file or 'no file'} for the jail settings: fail2ban "
        "wants local settings in jail.local or jail.d/*.local")
    out = run_ok(target, "test -f %s && dpkg-query -W -f '${Conffiles}\\n' fail2ban && "
                 "md5sum " + " ".join(PACKAGE_CONF), jail_file,
                 what=f"reading {jail_file} and fail2ban's package files")
    shipped, actual = {}, {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0].startswith("/etc/"):
            shipped[fields[0]] = fields[1]
        elif len(fields) == 2 and fields[1].startswith("/etc/"):
            actual[fields[1]] = fields[0]
    edited = [p for p in PACKAGE_CONF if p in shipped and actual.get(p) != shipped[p]]
    assert not edited, (f"{', '.join(edited)} changed on this host: fail2ban's settings belong "
                        "in .local files (the package's file is replaced at upgrades)")
