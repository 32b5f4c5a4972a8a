"""From outside: one sslyze scan of a host's HTTPS port and two plain HTTP requests.

Run once per host, in a background thread started when the checks are collected, so
that it overlaps the inside checks (see conftest). sslyze connects to the inventory
address with SNI = the meeting domain and runs only the scan commands that Mozilla's
configuration checker needs (they include every cipher-suite scan and the certificate
info); the certificate chain is validated against sslyze's bundled stores and, when
given, the inventory's trust store (the lab's pebble root).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jitsi_sovereign.checks import tlsparse

VERSIONS = [("ssl_2_0_cipher_suites", "SSLv2"), ("ssl_3_0_cipher_suites", "SSLv3"),
            ("tls_1_0_cipher_suites", "TLSv1.0"), ("tls_1_1_cipher_suites", "TLSv1.1"),
            ("tls_1_2_cipher_suites", "TLSv1.2"), ("tls_1_3_cipher_suites", "TLSv1.3")]
CUSTOM_STORE = "Supplied CA file"  # sslyze's name for the trust store given as custom_ca_file
PUBLIC_STORE = "Mozilla"
USER_AGENT = "jitsi-sovereign-verify"


@dataclass
class HttpAnswer:
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    error: str | None = None


@dataclass
class TlsScan:
    """What the checks need from one scan, as plain data."""

    address: str
    domain: str
    port: int = 443
    error: str | None = None  # the scan could not run at all
    supported: dict[str, bool] = field(default_factory=dict)  # "TLSv1.2" -> accepted?
    accepted: dict[str, list[str]] = field(default_factory=dict)  # version -> suites
    scan_errors: dict[str, str] = field(default_factory=dict)  # scan command -> error
    trust: dict[str, str | None] = field(default_factory=dict)  # store -> None ok / error
    leaf_serial: int | None = None
    leaf_names: list[str] = field(default_factory=list)
    leaf_not_after: str | None = None
    leaf_matches_hostname: bool | None = None
    mozilla_issues: dict[str, str] | None = None  # None: checker could not run
    mozilla_error: str | None = None
    mozilla_profile: str = ""
    https: HttpAnswer = field(default_factory=HttpAnswer)
    http: HttpAnswer = field(default_factory=HttpAnswer)
    duration: float = 0.0


def scan(address: str, domain: str, port: int = 443, trust_store: Path | None = None,
         timeout: float = 5.0) -> TlsScan:
    """sslyze + HTTPS GET + HTTP GET, in parallel threads; returns when all are done."""
    import threading

    start = time.monotonic()
    result = TlsScan(address, domain, port)

    def https() -> None:
        result.https = http_get(address, domain, port, tls=True, timeout=timeout)

    def plain() -> None:
        result.http = http_get(address, domain, 80, tls=False, timeout=timeout,
                               path="/jsov-verify-probe?redirect=1")

    threads = [threading.Thread(target=f, daemon=True) for f in (https, plain)]
    for t in threads:
        t.start()
    try:
        _sslyze(result, trust_store)
    except Exception as exc:  # reported by every check that needs the scan
        result.error = f"{type(exc).__name__}: {exc}"
    for t in threads:
        t.join(timeout=timeout * 2)
    result.duration = time.monotonic() - start
    return result


def scan_tls_only(address: str, domain: str, port: int = 443, trust_store: Path | None = None,
                  timeout: float = 5.0) -> TlsScan:
    """The sslyze part of ``scan`` alone (the audit makes its own HTTP requests); every
    connection bounded by ``timeout`` (at least 1 s), two tries at most."""
    start = time.monotonic()
    result = TlsScan(address, domain, port)
    try:
        _sslyze(result, trust_store, timeout=timeout)
    except Exception as exc:  # reported by every finding that needs the scan
        result.error = f"{type(exc).__name__}: {exc}"
    result.duration = time.monotonic() - start
    return result


def _sslyze(result: TlsScan, trust_store: Path | None, timeout: float | None = None) -> None:
    with warnings.catch_warnings():
        # sslyze's bundled stores hold an old root with a negative serial: not our concern
        warnings.simplefilter("ignore")
        import sslyze
        from sslyze.mozilla_tls_profile import tls_config_checker as moz

    extra = sslyze.ScanCommandsExtraArguments(
        certificate_info=sslyze.CertificateInfoExtraArgument(custom_ca_file=trust_store)
        if trust_store else None)
    request = sslyze.ServerScanRequest(
        server_location=sslyze.ServerNetworkLocation(hostname=result.domain, port=result.port,
                                                     ip_address=result.address),
        network_configuration=sslyze.ServerNetworkConfiguration(
            tls_server_name_indication=result.domain, network_timeout=max(1, round(timeout)),
            network_max_retries=2) if timeout else None,
        scan_commands=set(moz.SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER),
        scan_commands_extra_arguments=extra)
    scanner = sslyze.Scanner(per_server_concurrent_connections_limit=10)
    scanner.queue_scans([request])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = next(iter(scanner.get_results()))
    if server.scan_status != sslyze.ServerScanStatusEnum.COMPLETED or server.scan_result is None:
        trace = server.connectivity_error_trace
        raise ConnectionError(f"cannot connect over TLS to {result.address}:{result.port} "
                              f"(SNI {result.domain}): "
                              f"{server.connectivity_result or ''} {trace or ''}".strip())
    res = server.scan_result
    _suites(result, res, VERSIONS)
    info = res.certificate_info
    if info.result is None:
        result.scan_errors["certificate_info"] = _attempt_error(info)
    else:
        deployment = info.result.certificate_deployments[0]
        for path in deployment.path_validation_results:
            result.trust[path.trust_store.name] = (
                None if path.was_validation_successful else str(path.validation_error))
        leaf = deployment.received_certificate_chain[0]
        result.leaf_serial = leaf.serial_number
        result.leaf_not_after = leaf.not_valid_after_utc.isoformat()
        result.leaf_names = _names(leaf)
        result.leaf_matches_hostname = tlsparse.name_matches(result.leaf_names, result.domain)
    result.mozilla_profile = moz.MozillaTlsConfiguration._JSON_PROFILE_PATH.stem
    try:
        moz.check_server_against_tls_configuration(
            server, moz.MozillaTlsConfiguration.get(moz.TlsConfigurationEnum.MOZILLA_INTERMEDIATE))
        result.mozilla_issues = {}
    except moz.ServerNotCompliantWithTlsConfiguration as exc:
        result.mozilla_issues = dict(exc.issues)
    except moz.ServerScanResultIncomplete as exc:
        result.mozilla_error = str(exc)


def scan_turn(address: str, domain: str, port: int = 5349,
              trust_store: Path | None = None) -> TlsScan:
    """sslyze on a TURN TLS port: SSLv3, TLS 1.2 and 1.3 suites, the certificate's serial.

    TLS 1.0 and 1.1 are probed apart, with one handshake each (turnprobe): coturn leaves
    such a ClientHello unanswered, and sslyze's per-suite scan then takes ~80 s.
    """
    import sslyze

    result = TlsScan(address, domain, port)
    start = time.monotonic()
    commands = {sslyze.ScanCommand.SSL_3_0_CIPHER_SUITES, sslyze.ScanCommand.TLS_1_2_CIPHER_SUITES,
                sslyze.ScanCommand.TLS_1_3_CIPHER_SUITES, sslyze.ScanCommand.CERTIFICATE_INFO}
    extra = sslyze.ScanCommandsExtraArguments(
        certificate_info=sslyze.CertificateInfoExtraArgument(custom_ca_file=trust_store)
        if trust_store else None)
    request = sslyze.ServerScanRequest(
        server_location=sslyze.ServerNetworkLocation(hostname=domain, port=port,
                                                     ip_address=address),
        scan_commands=commands, scan_commands_extra_arguments=extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scanner = sslyze.Scanner(per_server_concurrent_connections_limit=10)
        scanner.queue_scans([request])
        server = next(iter(scanner.get_results()))
    result.duration = time.monotonic() - start
    if server.scan_status != sslyze.ServerScanStatusEnum.COMPLETED or server.scan_result is None:
        result.error = f"cannot connect over TLS to {address}:{port} (SNI {domain})"
        return result
    res = server.scan_result
    _suites(result, res, [(a, v) for a, v in VERSIONS if v in ("SSLv3", "TLSv1.2", "TLSv1.3")])
    info = res.certificate_info.result
    if info is not None:
        leaf = info.certificate_deployments[0].received_certificate_chain[0]
        result.leaf_serial = leaf.serial_number
    return result


def _suites(result: TlsScan, res: Any, versions) -> None:
    """Per protocol version: accepted or not, and the suites accepted (or the error)."""
    for attr, version in versions:
        attempt = getattr(res, attr)
        if attempt.result is None:
            result.scan_errors[version] = _attempt_error(attempt)
            continue
        result.supported[version] = bool(attempt.result.is_tls_version_supported)
        result.accepted[version] = [c.cipher_suite.name
                                    for c in attempt.result.accepted_cipher_suites]


def _attempt_error(attempt: Any) -> str:
    reason = getattr(attempt, "error_reason", None)
    trace = getattr(attempt, "error_trace", None)
    last = str(trace).strip().splitlines()[-1] if trace else ""
    return f"{reason or 'not run'} {last}".strip()


def _names(cert: Any) -> list[str]:
    from cryptography import x509

    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [str(n) for n in ext.value.get_values_for_type(x509.DNSName)]


def http_get(address: str, domain: str, port: int, *, tls: bool, timeout: float = 5.0,
             path: str = "/") -> HttpAnswer:
    """GET ``path`` from ``address`` with Host (and SNI) = ``domain``; no redirect followed.

    Over TLS the certificate is not verified here: the chain has its own check, this
    request only reads the headers a browser would get.
    """
    try:
        sock: socket.socket = socket.create_connection((address, port), timeout=timeout)
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            sock = ctx.wrap_socket(sock, server_hostname=domain)
        with sock:
            sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {domain}\r\n"
                          f"User-Agent: {USER_AGENT}\r\nConnection: close\r\n\r\n").encode())
            resp = http.client.HTTPResponse(sock)
            resp.begin()
            headers: dict[str, str] = {}
            for name, value in resp.getheaders():
                key = name.lower()
                headers[key] = f"{headers[key]}, {value}" if key in headers else value
            return HttpAnswer(resp.status, headers)
    except (OSError, http.client.HTTPException) as exc:
        return HttpAnswer(error=f"{type(exc).__name__}: {exc}")
