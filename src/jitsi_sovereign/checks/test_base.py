"""The base at ANSSI BP-028's level: login shells' umask, password hashing and ages, kernel
modules refused, the legal banner, needrestart (README "ANSSI BP-028")."""

from __future__ import annotations

import pytest

from jitsi_sovereign.checks import parsers
from jitsi_sovereign.checks.helpers import packages, require_area, run_ok, stats

# ------------------------------------------------------------------ umask (R36)

# Login shells that read /etc/profile (and so /etc/profile.d/*.sh) on Debian.
LOGIN_SHELLS = ["bash", "sh"]


@pytest.fixture(scope="module")
def umask_state(os_state) -> dict:
    require_area(os_state, "umask")
    return os_state.get("umask") or {}


def test_umask_file(umask_state, target):
    """/etc/profile.d sets the promised umask, root-owned and not writable by others."""
    path = umask_state.get("file") or "/etc/profile.d/jitsi-sovereign-umask.sh"
    want = str(umask_state.get("value") or "")
    assert want, "os_hardening.json promises no umask value"
    st = stats(target, path).get(path)
    assert st is not None, f"{path} does not exist"
    assert st.owner == "root" and not st.mode & 0o022, (
        f"{path} is {st.mode:04o} {st.owner}: others could change every login's umask")
    lines = [ln.split() for ln in run_ok(target, "cat %s", path).splitlines()
             if ln.strip() and not ln.lstrip().startswith("#")]
    assert ["umask", want] in lines, f"{path} does not say `umask {want}`: {lines}"


@pytest.mark.parametrize("shell", LOGIN_SHELLS)
def test_umask_login_shell(shell, umask_state, target):
    """a login shell gets the promised umask (as root here: `sudo -i` and `su -` alike)."""
    want = int(str(umask_state.get("value") or "0"), 8)
    result = target.run(f"{shell} -l -c umask </dev/null")
    if result.rc == 127:
        pytest.skip(f"{shell} is not installed")
    out = result.stdout.strip().splitlines()
    assert result.rc == 0 and out, f"{shell} -l -c umask failed (rc={result.rc})"
    assert int(out[-1], 8) == want, (
        f"a {shell} login shell gets umask {out[-1]}, promised {want:04o}")


# ------------------------------------------------------------------ login.defs (R68, R31)

LOGIN_DEFS_KEYS = ["ENCRYPT_METHOD", "YESCRYPT_COST_FACTOR", "PASS_MAX_DAYS", "PASS_MIN_DAYS",
                   "PASS_WARN_AGE"]
# Hashing schemes of pam_unix that ANSSI's R68 accepts for stored passwords.
STRONG_PAM_HASHES = {"yescrypt", "sha512", "gost_yescrypt", "blowfish"}
WEAK_PAM_HASHES = {"md5", "bigcrypt", "sha256"}


@pytest.fixture(scope="module")
def login_defs_state(os_state) -> dict:
    require_area(os_state, "login_defs")
    return os_state.get("login_defs") or {}


@pytest.fixture(scope="module")
def login_defs(login_defs_state, target) -> dict[str, str]:
    path = login_defs_state.get("file") or "/etc/login.defs"
    return parsers.parse_login_defs(run_ok(target, "cat %s", path, what=f"reading {path}"))


@pytest.mark.parametrize("key", LOGIN_DEFS_KEYS)
def test_login_defs(key, login_defs_state, login_defs):
    """/etc/login.defs key has the promised value (the last line of a key counts)."""
    promised = (login_defs_state.get("keys") or {}).get(key)
    assert promised is not None, f"os_hardening.json promises no {key}"
    actual = login_defs.get(key)
    assert actual == str(promised), (
        f"{key} is {actual or 'not set'} in /etc/login.defs, promised {promised}")
    if key == "ENCRYPT_METHOD":
        assert actual == "YESCRYPT", f"ENCRYPT_METHOD is {actual}, wants YESCRYPT"


def test_pam_password_hashing(login_defs_state, login_defs, target):
    """passwd hashes new passwords with a strong scheme (pam_unix in common-password)."""
    path = "/etc/pam.d/common-password"
    options = parsers.pam_unix_password_options(run_ok(target, "cat %s", path))
    assert options is not None, f"{path} has no `password ... pam_unix.so` line"
    names = {o.split("=", 1)[0] for o in options}
    weak = sorted(names & WEAK_PAM_HASHES)
    assert not weak, f"pam_unix hashes passwords with {', '.join(weak)} ({path})"
    if not names & STRONG_PAM_HASHES:
        # No scheme on the line: pam_unix takes ENCRYPT_METHOD from login.defs.
        method = login_defs.get("ENCRYPT_METHOD", "unset (DES)")
        assert method in ("YESCRYPT", "SHA512"), (
            f"{path} names no scheme for pam_unix and login.defs' ENCRYPT_METHOD is {method}")


def test_stored_password_hashes(login_defs_state, target):
    """no local account has an empty password or one stored as DES or MD5 (R68)."""
    # Only each account's name and the first 4 characters of the field reach the check.
    out = run_ok(target, "awk -F: '{ print $1 \" \" substr($2, 1, 4) \" \" length($2) }' "
                 "/etc/shadow", what="reading /etc/shadow")
    bad = []
    for line in out.splitlines():
        name, head, length = [*line.split(" "), "", ""][:3]
        scheme = parsers.hash_scheme(head, int(length or 0))
        if scheme in parsers.WEAK_SCHEMES:
            bad.append(f"{name} ({scheme})")
    assert not bad, "accounts with a weak or empty password: " + ", ".join(bad)


# ------------------------------------------------------------------ kernel modules


@pytest.fixture(scope="module")
def modules_state(os_state) -> dict:
    require_area(os_state, "modules")
    state = os_state.get("modules") or {}
    assert state.get("blacklist"), "os_hardening.json lists no module to refuse"
    return state


def test_modules_file(modules_state, target):
    """/etc/modprobe.d refuses every listed module (install /bin/false + blacklist)."""
    path = modules_state.get("file") or "/etc/modprobe.d/jitsi-sovereign-blacklist.conf"
    lines = {" ".join(ln.split()) for ln in run_ok(target, "cat %s", path,
                                                      what=f"reading {path}").splitlines()}
    missing = [m for m in modules_state["blacklist"]
               if f"install {m} /bin/false" not in lines or f"blacklist {m}" not in lines]
    assert not missing, f"{path} does not refuse: {', '.join(missing)}"


def test_modules_refused(modules_state, container, target):
    """the kernel refuses the listed modules (modprobe -n -v) and none is loaded."""
    if container:
        pytest.skip(f"a container uses its host's kernel (systemd-detect-virt: {container}): "
                    "its modules are the host's business; the file is checked above")
    names = modules_state["blacklist"]
    out = run_ok(target, "for m in " + " ".join(names) + '; do echo "== $m"; '
                 'modprobe -n -v "$m" 2>&1; done; echo "== /proc/modules"; cat /proc/modules',
                 what="modprobe -n -v")
    sections: dict[str, list[str]] = {}
    current = ""
    for line in out.splitlines():
        if line.startswith("== "):
            current = line[3:]
            sections[current] = []
        else:
            sections.setdefault(current, []).append(line.strip())
    loaded = {ln.split()[0] for ln in sections.get("/proc/modules", []) if ln}
    not_refused = [f"{m} ({' '.join(sections.get(m, [])) or 'no output'})" for m in names
                   if "install /bin/false" not in sections.get(m, [])]
    in_memory = [m for m in names if m.replace("-", "_") in loaded]
    assert not not_refused, "modprobe would load: " + "; ".join(not_refused)
    assert not in_memory, "loaded now (refused from the next load on; reboot): " + ", ".join(
        in_memory)


# ------------------------------------------------------------------ legal banner


@pytest.fixture(scope="module")
def banner_state(os_state) -> dict:
    require_area(os_state, "banner")
    return os_state.get("banner") or {}


def test_banner_files(banner_state, target):
    """/etc/issue.net and /etc/issue hold the banner text of the inventory."""
    files = banner_state.get("files") or ["/etc/issue.net", "/etc/issue"]
    want = banner_state.get("sha1")
    assert want, "os_hardening.json records no banner digest"
    out = run_ok(target, "sha1sum " + " ".join(files), what="sha1sum")
    found = {path: digest for digest, path in (ln.split(None, 1) for ln in out.splitlines())}
    wrong = [p for p in files if found.get(p) != want]
    assert not wrong, (f"{', '.join(wrong)}: not the text of os_hardening_banner_text "
                       "(changed by hand or by a package? deploy again)")


def test_banner_shown_by_sshd(banner_state, os_state, sshd):
    """sshd shows the banner before login (sshd -T: Banner /etc/issue.net)."""
    require_area(os_state, "ssh")
    promised = (os_state.get("ssh") or {}).get("banner") or "/etc/issue.net"
    actual = sshd.value("Banner")
    assert actual == promised, f"sshd -T says Banner {actual or 'none'}, promised {promised}"


# ------------------------------------------------------------------ needrestart

# needrestart's own order: needrestart.conf, then conf.d/*.conf sorted; the effective values.
NEEDRESTART_EVAL = (
    "perl -e 'our %nrconf; do \"/etc/needrestart/needrestart.conf\"; "
    "do $_ for sort glob \"/etc/needrestart/conf.d/*.conf\"; "
    "print \"restart=\", $nrconf{restart} // \"\", \"\\n\", "
    "\"kernelhints=\", $nrconf{kernelhints} // \"\", \"\\n\"'")


@pytest.fixture(scope="module")
def needrestart_state(os_state) -> dict:
    require_area(os_state, "needrestart")
    return os_state.get("needrestart") or {}


def test_needrestart_installed(needrestart_state, target):
    """needrestart is installed and apt calls it after each run (DPkg::Post-Invoke)."""
    assert packages(target, "needrestart")["needrestart"], "needrestart is not installed"
    dump = parsers.parse_apt_config_dump(run_ok(target, "apt-config dump", what="apt-config dump"))
    hooks = dump.get("DPkg::Post-Invoke", [])
    assert any("needrestart" in h for h in hooks), (
        f"apt does not call needrestart after a run (DPkg::Post-Invoke: {hooks})")


def test_needrestart_mode(needrestart_state, target):
    """needrestart restarts (or lists) services as promised and never waits for a key."""
    values = dict(line.partition("=")[::2] for line in run_ok(
        target, NEEDRESTART_EVAL, what="reading needrestart's settings").splitlines())
    promised = needrestart_state.get("restart") or "a"
    assert values.get("restart") == promised, (
        f"needrestart's restart mode is {values.get('restart') or 'unset (interactive)'}, "
        f"promised {promised}")
    assert values.get("kernelhints") != "1", (
        "needrestart's kernelhints = 1 waits for a key after a kernel upgrade")
