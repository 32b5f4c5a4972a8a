"""SSH server: the effective configuration (``sshd -T``) against the security baseline."""

from __future__ import annotations

import pytest

from jitsi_sovereign.checks.helpers import require_area, run_ok, stats

# dev-sec ssh baseline (SB sshd-*), keyword as written in sshd_config -> required value.
# ChallengeResponseAuthentication is an alias of KbdInteractiveAuthentication: sshd -T
# prints only the latter.
BASELINE = {
    "PasswordAuthentication": "no",
    "PubkeyAuthentication": "yes",
    "AuthenticationMethods": "publickey",
    "PermitEmptyPasswords": "no",
    "KbdInteractiveAuthentication": "no",
    "KerberosAuthentication": "no",
    "GSSAPIAuthentication": "no",
    "HostbasedAuthentication": "no",
    "IgnoreRhosts": "yes",
    "StrictModes": "yes",
    "LoginGraceTime": "30",
    "MaxAuthTries": "2",
    "MaxStartups": "10:30:60",
    "TCPKeepAlive": "no",
    "AllowTcpForwarding": "no",
    "AllowAgentForwarding": "no",
    "AllowStreamLocalForwarding": "no",
    "X11Forwarding": "no",
    "PermitTunnel": "no",
    "GatewayPorts": "no",
    "PermitUserEnvironment": "no",
    "Compression": "no",
    "UseDNS": "no",
    "LogLevel": "VERBOSE",
    "SyslogFacility": "AUTH",
    "DebianBanner": "no",
    "PrintMotd": "no",
    # ANSSI: the last login shown at each login (the baseline said no).
    "PrintLastLog": "yes",
}

# Session limits: the value the role promised (os_hardening_ssh_*), never looser than the
# security baseline's (MaxSessions 10, ClientAliveInterval 300, ClientAliveCountMax 3).
SESSION_LIMITS = {"MaxSessions": ("max_sessions", 10),
                  "ClientAliveInterval": ("client_alive_interval", 300),
                  "ClientAliveCountMax": ("client_alive_count_max", 3)}

# Baseline algorithm lists (OpenSSH 9.2), plus the post-quantum hybrids of OpenSSH 9.9/10
# (mlkem768x25519-sha256, and sntrup761x25519-sha512 under its name without @openssh.com).
ALLOWED = {
    "Ciphers": {"chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com",
                "aes128-gcm@openssh.com", "aes256-ctr", "aes192-ctr", "aes128-ctr"},
    "KexAlgorithms": {"mlkem768x25519-sha256", "sntrup761x25519-sha512",
                      "sntrup761x25519-sha512@openssh.com", "curve25519-sha256@libssh.org",
                      "diffie-hellman-group-exchange-sha256"},
    "MACs": {"hmac-sha2-512-etm@openssh.com", "hmac-sha2-256-etm@openssh.com",
             "umac-128-etm@openssh.com", "hmac-sha2-512", "hmac-sha2-256"},
}
STATE_KEYS = {"Ciphers": "ciphers", "KexAlgorithms": "kex_algorithms", "MACs": "macs"}

# Options some sshd -T do not print (Debian 12's OpenSSH 9.2 omits DebianBanner), with
# the outside check that proves the behaviour instead.
PROVEN_OUTSIDE = {"DebianBanner": "outside.ssh_banner"}


@pytest.fixture(scope="module")
def ssh_state(os_state):
    require_area(os_state, "ssh")
    return os_state.get("ssh") or {}


@pytest.mark.parametrize("keyword", list(BASELINE))
def test_option(keyword, ssh_state, sshd):
    """sshd option has its baseline value (effective config, sshd -T)."""
    expected = BASELINE[keyword]
    actual = sshd.value(keyword)
    if actual is None and keyword in PROVEN_OUTSIDE:
        pytest.skip(f"this sshd -T does not report {keyword}: its effect is checked from "
                    f"outside ({PROVEN_OUTSIDE[keyword]})")
    assert actual is not None, f"sshd -T does not report {keyword}"
    assert actual.lower() == expected.lower(), f"{keyword} is {actual}, baseline wants {expected}"


@pytest.mark.parametrize("keyword", list(SESSION_LIMITS))
def test_session_limit(keyword, ssh_state, sshd):
    """sshd session limit is the promised one, within the baseline (sshd -T)."""
    key, ceiling = SESSION_LIMITS[keyword]
    promised = ssh_state.get(key)
    assert promised is not None, f"os_hardening.json has no ssh.{key}"
    actual = sshd.value(keyword)
    assert actual is not None, f"sshd -T does not report {keyword}"
    assert int(actual) == int(promised), f"{keyword} is {actual}, promised {promised}"
    # 0 turns the limit off (no dead-client detection, no session limit).
    assert 0 < int(actual) <= ceiling, f"{keyword} is {actual}: the baseline wants 1..{ceiling}"


def test_permit_root_login(ssh_state, sshd):
    """PermitRootLogin is no (or prohibit-password when that was chosen)."""
    promised = str(ssh_state.get("permit_root_login", "no"))
    assert promised in ("no", "prohibit-password"), (
        f"state promises PermitRootLogin {promised}: only no or prohibit-password are allowed")
    actual = sshd.value("PermitRootLogin")
    # Older sshd -T print prohibit-password under its former name.
    if actual == "without-password":
        actual = "prohibit-password"
    assert actual == promised, f"PermitRootLogin is {actual}, promised {promised}"


def test_port(ssh_state, sshd):
    """sshd listens on the promised port only."""
    ports = sshd.get("port", [])
    assert ports == [str(ssh_state.get("port", 22))], (
        f"sshd listens on port(s) {ports}, promised {ssh_state.get('port', 22)}")


@pytest.mark.parametrize("keyword", list(ALLOWED))
def test_algorithms_allowed(keyword, ssh_state, sshd):
    """offered algorithms are all in the baseline set."""
    offered = sshd.algorithms(keyword)
    assert offered, f"sshd -T reports no {keyword}"
    extra = [a for a in offered if a not in ALLOWED[keyword]]
    assert not extra, f"{keyword} outside the baseline: {', '.join(extra)}"


@pytest.mark.parametrize("keyword", list(ALLOWED))
def test_algorithms_as_promised(keyword, ssh_state, sshd):
    """offered algorithms are exactly the list the role wrote."""
    promised = ssh_state.get(STATE_KEYS[keyword])
    assert promised, f"os_hardening.json has no ssh.{STATE_KEYS[keyword]}"
    offered = sshd.algorithms(keyword)
    assert offered == list(promised), f"{keyword} is {offered}, promised {promised}"


def test_sshd_config_mode(ssh_state, target, host):
    """/etc/ssh/sshd_config is 0600 root:root."""
    st = stats(target, "/etc/ssh/sshd_config").get("/etc/ssh/sshd_config")
    assert st is not None, "/etc/ssh/sshd_config does not exist"
    assert (st.mode, st.owner, st.group) == (0o600, "root", "root"), (
        f"/etc/ssh/sshd_config is {st.mode:04o} {st.owner}:{st.group}, wants 0600 root:root")


def test_host_keys_mode(ssh_state, sshd, target):
    """host private keys are 0600 and owned by root."""
    keys = sshd.get("hostkey", [])
    assert keys, "sshd -T lists no HostKey"
    found = stats(target, *keys)
    bad = [f"{k}: missing" for k in keys if k not in found]
    bad += [f"{k}: {found[k].mode:04o} {found[k].owner}" for k in keys
            if k in found and (found[k].mode != 0o600 or found[k].owner != "root")]
    assert not bad, "host private keys not 0600 root: " + "; ".join(bad)


def test_rsa_host_key_size(ssh_state, sshd, target):
    """an RSA host key, if offered, has at least 4096 bits."""
    keys = sshd.get("hostkey", [])
    out = run_ok(target, "for k in " + " ".join(keys) + '; do ssh-keygen -l -f "$k"; done',
                 what="ssh-keygen -l")
    rsa = [line for line in out.splitlines() if line.rstrip().endswith("(RSA)")]
    if not rsa:
        pytest.skip("sshd offers no RSA host key")
    small = [line for line in rsa if int(line.split()[0]) < 4096]
    assert not small, "RSA host key under 4096 bits: " + "; ".join(small)


def test_moduli(ssh_state, target):
    """/etc/ssh/moduli has no Diffie-Hellman group under 2048 bits."""
    out = run_ok(target, "test -f /etc/ssh/moduli && awk '$1 !~ /^#/ && NF >= 7 "
                 "{ n++; if ($5 < 2047) small++ } END { print n+0, small+0 }' /etc/ssh/moduli",
                 what="reading /etc/ssh/moduli")
    total, small = (int(x) for x in out.split())
    assert total > 0, "/etc/ssh/moduli holds no group"
    assert small == 0, f"/etc/ssh/moduli holds {small} group(s) under 2048 bits (of {total})"
