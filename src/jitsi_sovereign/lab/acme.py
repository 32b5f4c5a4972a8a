"""The lab's ACME server: Debian's ``pebble`` and its mock DNS ``pebble-challtestsrv``.

Both run as lab helper processes, like the apt proxy: started by ``lab up``, stopped
by the ``lab down`` that removes the last host, each with a pid file under
``<labdir>/acme/`` and recognised by its exact command line and a marker in its
environment before it is ever signalled.

* pebble serves ACME on the bridge address (``https://<gateway>:14000/dir``, management
  ``:15000``) with a TLS certificate from a small CA the lab makes once
  (``pebble-ca.pem``: the bundle certbot on a lab host must trust for the ACME API).
  Validation stays real: HTTP-01 requests go to the host's port 80
  (``PEBBLE_VA_ALWAYS_VALID`` is not set).
* pebble asks challtestsrv's DNS (``127.0.0.1:8053``, loopback only) where a name
  points; the lab registers ``<host>.lab.test`` -> the host's address on its
  management API (``127.0.0.1:8055``). Its own challenge servers are off.
* pebble makes a new issuing root at every start: the lab fetches it into
  ``root.pem`` (the outside TLS checks trust it for lab hosts) and the intermediate
  into ``intermediate.pem``.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import pwd
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from jitsi_sovereign.errors import UserError
from jitsi_sovereign.lab.config import LabConfig
from jitsi_sovereign.lab.util import (
    cmdline,
    pid_alive,
    read_pid,
    read_text,
    terminate,
    write_file,
)

PEBBLE = "/usr/bin/pebble"
CHALLTESTSRV = "/usr/bin/pebble-challtestsrv"
ACME_PORT = 14000
MANAGEMENT_PORT = 15000
DNS_ADDRESS = "127.0.0.1:8053"
CHALL_MANAGEMENT = "127.0.0.1:8055"
DOMAIN_SUFFIX = "lab.test"
SERVICE_USER = "nobody"
MARKER_VAR = "JSOV_LAB_HELPER"
START_TIMEOUT = 15.0
CERT_VALIDITY = 90 * 24 * 3600

# Lab-friendly pebble: no random sleeps before validation, no random nonce rejections.
PEBBLE_ENV = {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"}


@dataclass(frozen=True)
class AcmeInfo:
    """What the lab inventory tells the roles and the checks about the lab's ACME server."""

    directory_url: str
    ca_bundle: Path  # pebble's own TLS CA: certbot trusts it to talk to the ACME API
    root: Path  # the issuing root of this pebble run: the outside checks trust it
    domain_suffix: str = DOMAIN_SUFFIX


def acme_dir(config: LabConfig) -> Path:
    """Every file of the lab's ACME server."""
    return config.state_dir / "acme"


def info(config: LabConfig) -> AcmeInfo:
    base = acme_dir(config)
    return AcmeInfo(directory_url=directory_url(config), ca_bundle=base / "pebble-ca.pem",
                    root=base / "root.pem")


def directory_url(config: LabConfig) -> str:
    return f"https://{config.gateway}:{ACME_PORT}/dir"


def domain(name: str) -> str:
    """The lab domain of host ``name``: ``<name>.lab.test``."""
    return f"{name}.{DOMAIN_SUFFIX}"


def marker(config: LabConfig) -> str:
    """Environment marker of this lab's helpers (its state dir)."""
    return f"{MARKER_VAR}={config.state_dir}"


# ------------------------------------------------------------------ pure: config, argv


def pebble_config(config: LabConfig, cert: Path, key: Path) -> dict:
    """pebble's JSON configuration: ACME and management on the bridge address only.

    ``httpPort``/``tlsPort`` are where its validation authority connects on the host
    under validation: the real ports 80 and 443.
    """
    return {"pebble": {
        "listenAddress": f"{config.gateway}:{ACME_PORT}",
        "managementListenAddress": f"{config.gateway}:{MANAGEMENT_PORT}",
        "certificate": str(cert),
        "privateKey": str(key),
        "httpPort": 80,
        "tlsPort": 443,
        "ocspResponderURL": "",
        "externalAccountBindingRequired": False,
        # Let's Encrypt's 90 days, not pebble's default 5 years: renewal thresholds and
        # Mozilla's maximum certificate lifespan then see what production sees.
        "certificateValidityPeriod": CERT_VALIDITY,
    }}


def pebble_argv(config: LabConfig) -> list[str]:
    """pebble's command line (its config path under the lab dir makes it recognisable)."""
    return [PEBBLE, "-config", str(acme_dir(config) / "pebble-config.json"),
            "-dnsserver", DNS_ADDRESS]


def challtestsrv_argv() -> list[str]:
    """challtestsrv: mock DNS and its management API on loopback, challenge servers off.

    No default answers: a name the lab did not register does not resolve (pebble then
    fails the order with a DNS error instead of validating against 127.0.0.1).
    """
    return [CHALLTESTSRV, "-dns01", DNS_ADDRESS, "-management", CHALL_MANAGEMENT,
            "-http01", "", "-https01", "", "-tlsalpn01", "",
            "-defaultIPv4", "", "-defaultIPv6", ""]


# ------------------------------------------------------------------ the lab's CA


def ensure_certificates(config: LabConfig) -> None:
    """The lab ACME CA (made once) and pebble's server certificate for the gateway."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    base = acme_dir(config)
    ca_pem, ca_key_pem = base / "pebble-ca.pem", base / "pebble-ca.key"
    now = datetime.datetime.now(datetime.UTC)
    if not (ca_pem.is_file() and ca_key_pem.is_file()):
        ca_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                             "jitsi-sovereign lab ACME server CA")])
        ca = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
              .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - datetime.timedelta(minutes=5))
              .not_valid_after(now + datetime.timedelta(days=3650))
              .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
              .add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                           False, False), critical=True)
              .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                             critical=False)
              .sign(ca_key, hashes.SHA256()))
        write_file(ca_key_pem, ca_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode(), mode=0o600)
        write_file(ca_pem, ca.public_bytes(serialization.Encoding.PEM).decode())
    ca = x509.load_pem_x509_certificate(ca_pem.read_bytes())
    ca_key = serialization.load_pem_private_key(ca_key_pem.read_bytes(), None)
    # A fresh server certificate at each start: it names the current gateway address.
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                        str(config.gateway))]))
            .issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address(str(config.gateway))),
                x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ids = _service_ids()
    key_path = base / "pebble.key"
    write_file(key_path, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode(), mode=0o600)
    if ids:
        os.chown(key_path, *ids)  # pebble runs as nobody and reads it
    write_file(base / "pebble.pem", cert.public_bytes(serialization.Encoding.PEM).decode())


# ------------------------------------------------------------------ processes


def _is_ours(pid: int | None, argv: list[str], config: LabConfig) -> bool:
    """The pid runs exactly ``argv`` and carries this lab's marker in its environment."""
    # /proc's cmdline cannot show empty arguments: compare without them
    if not pid or not pid_alive(pid) or cmdline(pid) != [a for a in argv if a]:
        return False
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False
    return marker(config).encode() in environ


def pebble_pid(config: LabConfig) -> int | None:
    pid = read_pid(acme_dir(config) / "pebble.pid")
    return pid if _is_ours(pid, pebble_argv(config), config) else None


def challtestsrv_pid(config: LabConfig) -> int | None:
    pid = read_pid(acme_dir(config) / "challtestsrv.pid")
    return pid if _is_ours(pid, challtestsrv_argv(), config) else None


def _listens(address: str, port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def _spawn(config: LabConfig, name: str, argv: list[str], env: dict[str, str]) -> \
        subprocess.Popen[bytes]:
    base = acme_dir(config)
    ids = _service_ids()
    log = (base / f"{name}.log").open("ab")
    environ = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/nonexistent",
               **env, MARKER_VAR: str(config.state_dir)}
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                            start_new_session=True, close_fds=True, env=environ,
                            cwd=str(base), user=ids[0] if ids else None,
                            group=ids[1] if ids else None,
                            extra_groups=[] if ids else None)
    log.close()
    write_file(base / f"{name}.pid", f"{proc.pid}\n")
    return proc


def _wait_listening(config: LabConfig, name: str, proc: subprocess.Popen[bytes],
                    endpoints: list[tuple[str, int]]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log = acme_dir(config) / f"{name}.log"
            tail = (read_text(log) or "").strip().splitlines()[-5:]
            raise UserError(f"the lab ACME helper {name} exited at start: " + " / ".join(tail),
                            f"see {log}")
        if all(_listens(a, p) for a, p in endpoints):
            return
        time.sleep(0.05)
    raise UserError(f"the lab ACME helper {name} does not listen on "
                    + ", ".join(f"{a}:{p}" for a, p in endpoints),
                    f"see {acme_dir(config) / (name + '.log')}")


def _busy(endpoints: list[tuple[str, int]], name: str) -> None:
    for address, port in endpoints:
        if _listens(address, port):
            raise UserError(f"something else listens on {address}:{port} (needed by the "
                            f"lab's {name})",
                            "stop it (ss -ltnp), or stop the other lab that runs it")


def _chall_endpoints() -> list[tuple[str, int]]:
    host, _, port = CHALL_MANAGEMENT.rpartition(":")
    return [(host, int(port))]


def _pebble_endpoints(config: LabConfig) -> list[tuple[str, int]]:
    return [(str(config.gateway), ACME_PORT), (str(config.gateway), MANAGEMENT_PORT)]


def start(config: LabConfig) -> bool:
    """Start challtestsrv then pebble unless ours run; fetch the issuing root.

    Returns True if pebble was (re)started (a new issuing root).
    """
    base = acme_dir(config)
    base.mkdir(parents=True, exist_ok=True)
    os.chmod(base, 0o755)  # noqa: S103 - pebble (as nobody) reads its config here
    if not challtestsrv_pid(config):
        _busy(_chall_endpoints(), "pebble-challtestsrv")
        proc = _spawn(config, "challtestsrv", challtestsrv_argv(), {})
        _wait_listening(config, "challtestsrv", proc, _chall_endpoints())
    if pebble_pid(config) and (base / "root.pem").is_file():
        return False
    if pebble_pid(config):
        _stop_one(config, "pebble", pebble_pid(config))
    _busy(_pebble_endpoints(config), "pebble")
    ensure_certificates(config)
    write_file(base / "pebble-config.json", json.dumps(
        pebble_config(config, base / "pebble.pem", base / "pebble.key"), indent=2) + "\n")
    proc = _spawn(config, "pebble", pebble_argv(config), PEBBLE_ENV)
    _wait_listening(config, "pebble", proc, _pebble_endpoints(config))
    fetch_roots(config)
    return True


def _get(url: str, cafile: Path, data: bytes | None = None, timeout: float = 5) -> bytes:
    ctx = ssl.create_default_context(cafile=str(cafile)) if url.startswith("https") else None
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an HTTP URL: {url}")
    request = urllib.request.Request(url, data=data,  # noqa: S310 - scheme checked above
                                     method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=ctx) as resp:  # noqa: S310
            return resp.read()
    except (urllib.error.URLError, OSError) as exc:
        raise UserError(f"the lab ACME server did not answer {url}: {exc}",
                        f"see {cafile.parent}/*.log") from exc


def fetch_roots(config: LabConfig) -> None:
    """This pebble run's issuing root and intermediate, from its management API."""
    base = acme_dir(config)
    mgmt = f"https://{config.gateway}:{MANAGEMENT_PORT}"
    cafile = base / "pebble-ca.pem"
    write_file(base / "root.pem", _get(f"{mgmt}/roots/0", cafile).decode())
    write_file(base / "intermediate.pem", _get(f"{mgmt}/intermediates/0", cafile).decode())


def _chall_post(path: str, body: dict) -> None:
    _get(f"http://{CHALL_MANAGEMENT}/{path}", Path("/dev/null"),
         data=json.dumps(body).encode())


def register(hosts: dict[str, str]) -> None:
    """Point ``<name>.lab.test`` at each host's address in the mock DNS (name -> address)."""
    for name, address in sorted(hosts.items()):
        _chall_post("clear-a", {"host": domain(name)})
        _chall_post("add-a", {"host": domain(name), "addresses": [address]})


def unregister(config: LabConfig, names: list[str]) -> list[str]:
    """Forget the DNS names of stopped hosts, best effort (``lab down`` goes on anyway).

    Returns what could not be done (challtestsrv gone means nothing to forget).
    """
    if not challtestsrv_pid(config):
        return []
    problems = []
    for name in names:
        try:
            _chall_post("clear-a", {"host": domain(name)})
        except UserError as exc:
            problems.append(exc.message)
    return problems


def _stop_one(config: LabConfig, name: str, pid: int | None) -> bool:
    if pid:
        terminate(pid)
    (acme_dir(config) / f"{name}.pid").unlink(missing_ok=True)
    return pid is not None


def stop(config: LabConfig) -> bool:
    """Stop our pebble and challtestsrv (each by its pid, checked); True if one ran.

    The issuing root dies with pebble: root.pem and intermediate.pem go too.
    """
    stopped = _stop_one(config, "pebble", pebble_pid(config))
    stopped = _stop_one(config, "challtestsrv", challtestsrv_pid(config)) or stopped
    for name in ("root.pem", "intermediate.pem"):
        (acme_dir(config) / name).unlink(missing_ok=True)
    return stopped


def status(config: LabConfig) -> dict:
    """The lab ACME server: directory URL, state, pids."""
    pid, dns = pebble_pid(config), challtestsrv_pid(config)
    return {"name": "acme", "address": directory_url(config),
            "state": "running" if pid and dns else ("partial" if pid or dns else "stopped"),
            "pid": pid, "dns_pid": dns}


def _service_ids() -> tuple[int, int] | None:
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid
