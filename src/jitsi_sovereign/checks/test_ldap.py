"""LDAP authentication (prosody_auth: ldap): the directory is reached over TLS only, and
prosody verifies its certificate against the CA the role installed (role prosody).

Run on the Jitsi host itself (that is where prosody opens its connection): the
certificate of the directory is checked with ``openssl s_client`` against the CA file
that prosody.json names, with the directory's name (or IP) as the expected identity;
the running prosody's environment and OpenLDAP's client files must not weaken libldap's
own verification (``TLS_REQCERT`` never/allow/try). Skipped as a whole when the host's
prosody does not use LDAP.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from jitsi_sovereign.checks.helpers import require_web_state, run_ok

# libldap's client configuration file, and the per-user files it reads after it
# (ldap.conf(5): $HOME/ldaprc, $HOME/.ldaprc, ./ldaprc); the environment (LDAPTLS_*)
# overrides them all.
LDAP_CONF = "/etc/ldap/ldap.conf"
STRICT_REQCERT = ("demand", "hard")
CONNECT_TIMEOUT = 15


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    starttls: bool
    is_ip: bool

    @property
    def connect(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def ldap_endpoint(url: str, starttls: bool) -> Endpoint:
    """Host, port and TLS mode of an ``ldaps://`` or ``ldap://`` (+ StartTLS) URL.

    Raises ValueError when the URL is not LDAP, names no host, or ``ldap://`` goes
    without StartTLS (passwords in clear text).
    """
    parts = urlsplit(str(url).strip())
    if parts.scheme not in ("ldap", "ldaps"):
        raise ValueError(f"{url!r} is not an ldaps:// or ldap:// URL")
    if not parts.hostname:
        raise ValueError(f"{url!r} names no directory host")
    if parts.scheme == "ldap" and not starttls:
        raise ValueError(f"{url!r} without StartTLS: passwords would cross the network in "
                         "clear text")
    try:
        port = parts.port or (636 if parts.scheme == "ldaps" else 389)
    except ValueError as exc:
        raise ValueError(f"{url!r}: {exc}") from None
    try:
        ipaddress.ip_address(parts.hostname)
        is_ip = True
    except ValueError:
        is_ip = False
    return Endpoint(parts.hostname, port, parts.scheme == "ldap", is_ip)


def parse_ldap_conf(text: str) -> dict[str, str]:
    """Options of an ldap.conf / ldaprc file (upper-cased keys, last one wins)."""
    options: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(" ") if " " in line else line.partition("\t")
        options[key.strip().upper()] = value.strip()
    return options


def effective_tls_option(name: str, environ: dict[str, str],
                         files: list[tuple[str, str]]) -> tuple[str | None, str]:
    """The value libldap uses for TLS option ``name`` (e.g. ``REQCERT``) and where it comes
    from: ``LDAPTLS_<name>`` in the environment, else the last of ``files`` (path, text),
    read in libldap's order, that sets ``TLS_<name>``; (None, "libldap's default") when
    nothing sets it."""
    env = environ.get(f"LDAPTLS_{name}")
    if env is not None:
        return env.strip(), f"prosody's environment (LDAPTLS_{name})"
    found: tuple[str | None, str] = (None, "libldap's default")
    for path, text in files:
        value = parse_ldap_conf(text).get(f"TLS_{name}")
        if value is not None:
            found = (value, path)
    return found


def parse_environ(text: str) -> dict[str, str]:
    """``NAME=value`` lines (a /proc/PID/environ with NULs turned into newlines)."""
    env = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and name:
            env[name] = value
    return env


def parse_s_client_brief(text: str) -> dict[str, str | None]:
    """Protocol and verification result from ``openssl s_client -brief``."""
    protocol = re.search(r"^Protocol version:\s*(\S+)", text, re.M)
    verification = re.search(r"^Verification(?: error)?:\s*(.+)$", text, re.M)
    errors = re.findall(r"^verify error:(.+)$", text, re.M)
    return {"protocol": protocol.group(1) if protocol else None,
            "verification": verification.group(1).strip() if verification else None,
            "verify_error": errors[0].strip() if errors else None}


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def ldap_state(target) -> dict:
    state = require_web_state(target, "prosody")
    if state.get("auth") != "ldap":
        pytest.skip(f"prosody authenticates with {state.get('auth') or 'internal'!r} "
                    "accounts, not a directory (prosody_auth is not ldap)")
    return state


@pytest.fixture(scope="module")
def endpoint(ldap_state) -> Endpoint:
    url = ldap_state.get("ldap_url")
    if not url:
        pytest.fail("prosody.json says auth ldap but names no ldap_url", pytrace=False)
    try:
        return ldap_endpoint(url, bool(ldap_state.get("ldap_starttls")))
    except ValueError as exc:
        pytest.fail(f"prosody_ldap_url: {exc}", pytrace=False)


@pytest.fixture(scope="module")
def ldap_ca(target, ldap_state) -> str:
    path = ldap_state.get("ldap_ca")
    if not path:
        pytest.fail("prosody.json names no ldap_ca (the CA file prosody trusts for the "
                    "directory)", pytrace=False)
    run_ok(target, "test -s %s", path, what=f"{path} (the directory's CA) exists")
    return path


@pytest.fixture(scope="module")
def prosody_process(target, ldap_state) -> dict:
    """The running prosody's LDAP-related environment and the libldap files it reads."""
    pid = run_ok(target, "systemctl show -p MainPID --value prosody",
                 what="systemctl show prosody").strip()
    if not pid.isdigit() or int(pid) == 0:
        pytest.fail("prosody is not running (MainPID 0): it cannot authenticate anyone",
                    pytrace=False)
    environ = parse_environ(run_ok(target, "tr '\\0' '\\n' < /proc/%s/environ", pid,
                                   what="prosody's environment"))
    # Only what libldap reads: never keep (or print) the rest of the environment.
    env = {k: v for k, v in environ.items() if k.startswith("LDAP") or k == "HOME"}
    cwd = run_ok(target, "readlink /proc/%s/cwd", pid, what="prosody's directory").strip()
    paths = [] if "LDAPNOINIT" in env else [env.get("LDAPCONF") or LDAP_CONF]
    home = env.get("HOME")
    if home and "LDAPNOINIT" not in env:
        paths += [f"{home}/ldaprc", f"{home}/.ldaprc"]
    if cwd and "LDAPNOINIT" not in env:
        paths.append(f"{cwd.rstrip('/')}/ldaprc")
    files = []
    for path in dict.fromkeys(paths):
        result = target.run("cat %s", path)
        if result.rc == 0:
            files.append((path, result.stdout))
    return {"pid": pid, "env": env, "files": files}


# ------------------------------------------------------------------ checks


def test_directory_url_encrypted(ldap_state):
    """the directory URL is ldaps://, or ldap:// with StartTLS (never a clear-text bind)."""
    url, starttls = ldap_state.get("ldap_url"), bool(ldap_state.get("ldap_starttls"))
    try:
        ldap_endpoint(url or "", starttls)
    except ValueError as exc:
        pytest.fail(f"prosody_ldap_url: {exc}", pytrace=False)


def test_directory_certificate_verifies(target, endpoint, ldap_ca):
    """from this host, the directory answers with TLS 1.2+ and a certificate that verifies
    against the CA prosody trusts, for the name (or IP) of the URL."""
    identity = (["-verify_ip", endpoint.host] if endpoint.is_ip
                else ["-servername", endpoint.host, "-verify_hostname", endpoint.host])
    starttls = ["-starttls", "ldap"] if endpoint.starttls else []
    args = ["-connect", endpoint.connect, *identity, *starttls,
            "-CAfile", ldap_ca, "-verify_return_error"]
    result = target.run(f"timeout {CONNECT_TIMEOUT} openssl s_client -brief"
                        + " %s" * len(args) + " </dev/null 2>&1", *args)
    out = parse_s_client_brief(result.stdout)
    what = (f"{endpoint.connect} ({'StartTLS' if endpoint.starttls else 'ldaps'}, "
            f"CA {ldap_ca})")
    if result.rc != 0 or out["verification"] != "OK":
        last = (result.stdout.strip().splitlines() or ["no output"])[-1]
        reason = out["verify_error"] or out["verification"] or last
        pytest.fail(f"TLS to the directory {what} failed (rc={result.rc}): {reason}",
                    pytrace=False)
    assert out["protocol"] in ("TLSv1.2", "TLSv1.3"), (
        f"the directory {what} speaks {out['protocol']}, wants TLS 1.2 or 1.3")


def test_prosody_trusts_the_configured_ca(prosody_process, ldap_ca):
    """the running prosody's libldap trusts exactly the CA file the role promised."""
    value, origin = effective_tls_option("CACERT", prosody_process["env"],
                                         prosody_process["files"])
    assert value == ldap_ca, (
        f"prosody (pid {prosody_process['pid']}) trusts {value or 'no CA file'} "
        f"(from {origin}), prosody.json promises {ldap_ca}: was prosody restarted?")
    cadir, cadir_origin = effective_tls_option("CACERTDIR", prosody_process["env"],
                                               prosody_process["files"])
    assert not cadir, (f"prosody also trusts every CA in {cadir} (TLS_CACERTDIR from "
                       f"{cadir_origin}), not only {ldap_ca}")


def test_prosody_demands_a_valid_certificate(prosody_process):
    """nothing lowers libldap's certificate check for prosody (TLS_REQCERT demand/hard)."""
    value, origin = effective_tls_option("REQCERT", prosody_process["env"],
                                         prosody_process["files"])
    if value is None:
        return  # libldap's default for clients is demand
    assert value.lower() in STRICT_REQCERT, (
        f"TLS_REQCERT {value} (from {origin}): prosody would accept a directory whose "
        "certificate does not verify; remove it or set demand")
