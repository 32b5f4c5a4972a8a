"""Audit area 'turn': the server's own TURN relay, as a client reaches it.

Credentials as a browser gets them: XEP-0215 (external service discovery) over the
guest's XMPP session of the access area (``access.guest``), or ``--turn-user`` /
``--turn-password-stdin`` (``AuditContext.turn_credentials``, used first when given).

* ``turn.credentials`` (info): where the credentials came from (never shown).
* ``turn.stun`` (medium): a STUN Binding request is answered.
* ``turn.unauthenticated`` (high): an Allocate without credentials is refused (401).
* ``turn.allocate`` (medium): with the credentials, an allocation over UDP succeeds.
* ``turn.allocate_tls`` (medium): the same over TLS (turns:, 5349), when announced.
* ``turn.peers`` (high): CreatePermission towards loopback, private, link-local, the cloud
  metadata address, 0.0.0.0 and the server's own addresses is refused, each one; a relay
  that grants one lets anyone on the internet reach the server's internal network
  ("coturn without denied peers").

CreatePermission only asks the relay to install a permission: no data is ever sent
through a relay. Packets go only to the audited server and to its own TURN server, and
to a TURN server only when it is the audited address or a name in the audited domain.
Every allocation is freed (Refresh lifetime 0) before the next one (coturn's user-quota).
"""

from __future__ import annotations

import ipaddress
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from jitsi_sovereign.audit import access, xmpp
from jitsi_sovereign.audit.context import AuditContext, Skip
from jitsi_sovereign.audit.findings import from_table
from jitsi_sovereign.checks import turnprobe
from jitsi_sovereign.report.model import FAILED, HIGH, INFO, MEDIUM, PASSED, SKIPPED, Finding

AREA = "turn"
REQUESTED_ADDRESS_FAMILY = 0x0017  # RFC 8656 18.1
STUN_PORT, TURNS_PORT = 3478, 5349
# (peer, what it is): each must be refused. The server's own addresses are added.
PEERS_V4 = [
    ("127.0.0.1", "loopback"),
    ("0.0.0.0", "'this host' (0.0.0.0)"),  # noqa: S104 - a peer address, nothing binds
    ("10.0.0.1", "private network 10.0.0.0/8"),
    ("172.16.0.1", "private network 172.16.0.0/12"),
    ("192.168.0.1", "private network 192.168.0.0/16"),
    ("169.254.169.254", "cloud metadata service (link-local)"),
]
PEERS_V6 = [
    ("::1", "loopback (IPv6)"),
    ("fd00::1", "private network fc00::/7 (IPv6)"),
    ("fe80::1", "link-local (IPv6)"),
]
# The client classes (replaced by fakes in the unit tests).
CLIENT = turnprobe.TurnClient


class _StreamSock:
    """A TLS stream seen as the datagram socket TurnClient expects: one STUN message per
    recvfrom (framed by its own length field, RFC 8489 6.2.2)."""

    def __init__(self, sock, timeout: float):
        self.sock = sock
        self.timeout = timeout
        self.buf = b""

    def gettimeout(self) -> float:
        return self.timeout

    def settimeout(self, value: float) -> None:
        self.timeout = value

    def sendto(self, data: bytes, _addr) -> None:
        self.sock.sendall(data)

    def recvfrom(self, _n: int):
        deadline = time.monotonic() + self.timeout
        while True:
            if len(self.buf) >= 20:
                total = 20 + struct.unpack("!H", self.buf[2:4])[0]
                if len(self.buf) >= total:
                    msg, self.buf = self.buf[:total], self.buf[total:]
                    return msg, None
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionResetError("the TURN server closed the TLS connection")
            self.buf += chunk

    def close(self) -> None:
        self.sock.close()


class TlsTurnClient(turnprobe.TurnClient):
    """TurnClient over TLS (turns:): one stream, no retransmission."""

    def __init__(self, address: str, port: int, name: str, timeout: float = 2.0):
        super().__init__(address, port, timeout=timeout, tries=1)
        self.sock.close()
        self.sock = _StreamSock(xmpp.tls_connect(address, port, name, timeout), timeout)


TLS_CLIENT = TlsTurnClient

# ------------------------------------------------------------------ texts

TEXTS: dict[str, dict[str, str]] = {
    "credentials": {
        "title": "Clients get temporary TURN credentials from the server",
        "fr": "Les participants reçoivent du serveur des identifiants temporaires pour le "
              "relais TURN",
        "fix": "", "fr_fix": "",
    },
    "stun": {
        "title": "The server's STUN service answers (browsers learn their public address)",
        "fr": "Le service STUN du serveur répond (les navigateurs apprennent leur adresse "
              "publique sans service extérieur)",
        "fix": "open 3478/udp to the TURN server (coturn) and check that it runs",
        "fr_fix": "Ouvrir le port 3478/udp vers le serveur TURN (coturn) et vérifier qu'il "
                  "fonctionne.",
    },
    "unauthenticated": {
        "title": "The relay refuses anyone without credentials",
        "fr": "Le relais refuse toute personne sans identifiants",
        "fix": "require credentials on the TURN server (coturn: use-auth-secret with "
               "static-auth-secret, never no-auth)",
        "fr_fix": "Exiger des identifiants sur le relais TURN (coturn : use-auth-secret) : "
                  "sinon n'importe qui peut faire passer son trafic par ce serveur.",
    },
    "allocate": {
        "title": "The relay works with the credentials a participant gets (UDP)",
        "fr": "Le relais fonctionne avec les identifiants remis aux participants (UDP)",
        "fix": "make the TURN secret of prosody (external_service_secret) the one of coturn "
               "(static-auth-secret), and check coturn's realm and quotas",
        "fr_fix": "Aligner le secret TURN de prosody sur celui de coturn : sinon les "
                  "participants derrière un pare-feu strict ne peuvent pas se joindre.",
    },
    "allocate_tls": {
        "title": "The relay also works over TLS (for networks that only let TLS through)",
        "fr": "Le relais fonctionne aussi en TLS (pour les réseaux qui ne laissent passer que "
              "le TLS)",
        "fix": "give coturn a valid certificate on its TLS port (tls-listening-port, cert, "
               "pkey) and open that port",
        "fr_fix": "Donner à coturn un certificat valide sur son port TLS et ouvrir ce port.",
    },
    "peers": {
        "title": "The relay cannot be used to reach the server's internal network",
        "fr": "Le relais ne peut pas servir à atteindre le réseau interne du serveur",
        "fix": "deny these peers in coturn (denied-peer-ip for loopback, private, link-local "
               "and metadata ranges; no allow-loopback-peers; no-multicast-peers)",
        "fr_fix": "Interdire ces destinations dans coturn (denied-peer-ip) : sinon n'importe "
                  "qui peut, à travers le relais, joindre les services internes du serveur "
                  "ou de son hébergeur.",
    },
}


def finding(key: str, status: str, severity: str, **kw: Any) -> Finding:
    """One of this area's findings, its texts from TEXTS (audit.findings.from_table)."""
    return from_table(AREA, TEXTS, key, status, severity, **kw)


def _skip(key: str, severity: str, reason: str, reason_fr: str,
          evidence: list[str] | None = None) -> Finding:
    return finding(key, SKIPPED, severity, reason=reason, reason_fr=reason_fr,
                   evidence=evidence)


# ------------------------------------------------------------------ where and with what


@dataclass
class Server:
    """One TURN/STUN service: its name and port, and the address packets go to."""

    host: str
    port: int
    address: str | None = None
    refused: str | None = None  # why it is not contacted

    def __str__(self) -> str:
        at = f" ({self.address})" if self.address and self.address != self.host else ""
        return f"{self.host}:{self.port}{at}"


@dataclass
class Credentials:
    source: str  # "XEP-0215" | "command line" | ""
    username: str = ""
    password: str = ""
    evidence: list[str] = field(default_factory=list)
    udp: Server | None = None
    tls: Server | None = None  # turns, when announced
    stun: Server | None = None
    why_none: str = ""


own_domain = access.own_domain


def locate(ctx: AuditContext, host: str, port: int) -> Server:
    """Where a TURN server named by the server is reached, if it may be contacted."""
    t = ctx.target
    server = Server(host, port)
    try:
        literal = str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        literal = None
    if host.lower() == t.name or literal == t.address:
        server.address = t.address
    elif literal is not None:
        server.refused = (f"the TURN server {host} is not the audited address {t.address}: "
                          "not contacted")
    elif not own_domain(host, t.name):
        server.refused = f"the TURN server {host} is not in the audited domain: not contacted"
    else:
        try:
            server.address = access.resolve(host, t.timeout)
        except xmpp.XmppError as exc:
            server.refused = str(exc)
    return server


def _service(services: list[dict[str, str]], kind: str, transport: str | None
             ) -> dict[str, str] | None:
    for s in services:
        if s.get("type") == kind and (transport is None or s.get("transport") == transport):
            return s
    return None


def _port(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def credentials(ctx: AuditContext) -> Credentials:
    """The credentials and the servers to try (XEP-0215 first for the servers)."""
    t = ctx.target
    creds = Credentials("")
    services: list[dict[str, str]] = []
    try:
        guest = access.guest(ctx)
        services = guest.services
        if guest.services_ns:
            creds.evidence.append(f"XEP-0215 ({guest.services_ns}) to the guest: " + (
                ", ".join(_describe_service(s) for s in services) or "no service"))
        elif guest.jid:
            creds.evidence.append(f"XEP-0215 to the guest: {guest.services_error}")
        else:
            creds.evidence.append(f"no guest session for XEP-0215: {guest.error}")
    except Skip as exc:
        creds.evidence.append(f"no guest session for XEP-0215: {exc}")
    turn = _service(services, "turn", "udp") or _service(services, "turn", None)
    turns = _service(services, "turns", None)
    stun = _service(services, "stun", "udp")
    if ctx.turn_credentials:
        creds.source = "command line"
        creds.username, creds.password = ctx.turn_credentials
    else:
        for s in (turn, turns):
            if s and s.get("username") and s.get("password"):
                creds.source = "XEP-0215"
                creds.username, creds.password = s["username"], s["password"]
                break
    if not creds.source:
        creds.why_none = ("the server hands no TURN credentials to guests (XEP-0215) and "
                          "none were given (--turn-user with --turn-password-stdin)")
    default_host = (turn or stun or {}).get("host") or _stun_host(ctx) or t.name
    creds.udp = locate(ctx, (turn or {}).get("host") or default_host,
                       _port((turn or {}).get("port"), STUN_PORT))
    creds.stun = locate(ctx, (stun or turn or {}).get("host") or default_host,
                        _port((stun or turn or {}).get("port"), STUN_PORT))
    if turns:
        creds.tls = locate(ctx, turns.get("host") or default_host,
                           _port(turns.get("port"), TURNS_PORT))
    return creds


def _stun_host(ctx: AuditContext) -> str | None:
    """The first host of config.js's p2p.stunServers in the audited domain."""
    try:
        servers = ctx.config_js().get("p2p.stunServers") or []
    except Skip:
        return None
    for entry in servers if isinstance(servers, list) else []:
        url = entry.get("urls") if isinstance(entry, dict) else None
        for u in url if isinstance(url, list) else [url]:
            if isinstance(u, str) and u.startswith("stun:"):
                host = u[5:].split("?")[0].rsplit(":", 1)[0] if u.count(":") >= 2 else u[5:]
                if own_domain(host, ctx.target.name):
                    return host
    return None


def _describe_service(s: dict[str, str]) -> str:
    out = f"{s.get('type')}:{s.get('host')}:{s.get('port')}/{s.get('transport', '?')}"
    if s.get("password"):
        out += " with credentials (not shown)"
        if s.get("expires"):
            out += f", valid until {s['expires']}"
    return out


# ------------------------------------------------------------------ requests


def _allocate(client, username: str, password: str, family: int | None = None
              ) -> turnprobe.Answer:
    """Allocate (401 challenge, then with credentials); IPv6 relay when family is 2.
    Whatever was allocated is marked for ``_free``, even by an open relay's first answer."""
    answer = _allocate_once(client, username, password, family)
    if answer.ok and client.relayed is None:
        client.relayed = ("?", 0)
    return answer


def _allocate_once(client, username: str, password: str, family: int | None
                   ) -> turnprobe.Answer:
    if family is None:
        return client.allocate(username, password)
    attrs = [(turnprobe.REQUESTED_TRANSPORT, bytes([turnprobe.UDP_TRANSPORT, 0, 0, 0])),
             (turnprobe.LIFETIME, struct.pack("!I", 60)),
             (REQUESTED_ADDRESS_FAMILY, bytes([family, 0, 0, 0]))]
    first = client.request(turnprobe.ALLOCATE, attrs, auth=False)
    if first.ok or first.code != 401 or first.message is None:
        return first
    realm, nonce = first.message.get(turnprobe.REALM), first.message.get(turnprobe.NONCE)
    if realm is None or nonce is None:
        return turnprobe.Answer(code=401, reason="401 without REALM or NONCE")
    client.realm, client.nonce, client.username = realm.decode(), nonce, username
    client.key = turnprobe.long_term_key(username, client.realm, password)
    answer = client.request(turnprobe.ALLOCATE, attrs)
    if answer.ok:
        value = answer.message.get(turnprobe.XOR_RELAYED_ADDRESS) if answer.message else None
        if value:
            client.relayed = turnprobe.parse_xor_address(value, answer.message.txid)
    return answer


def _free(client) -> None:
    try:
        if client.relayed is not None:
            client.refresh(0)
    except OSError:
        pass
    finally:
        client.close()


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _peer_outcome(answer: turnprobe.Answer) -> str:
    if answer.ok:
        return "ALLOWED"
    if answer.timeout:
        return "no answer"
    return f"refused ({answer.code} {answer.reason})".replace(" )", ")")


# ------------------------------------------------------------------ the area


def run(ctx: AuditContext) -> list[Finding]:
    t0 = time.monotonic()
    out = _run(ctx)
    for f in out:
        f.duration = (time.monotonic() - t0) / len(out)
    return out


def _run(ctx: AuditContext) -> list[Finding]:
    timeout = min(2.0, ctx.target.timeout)
    creds = credentials(ctx)
    out: list[Finding] = []
    # Credentials
    if creds.source == "XEP-0215":
        out.append(finding("credentials", PASSED, INFO, evidence=creds.evidence,
                           params={"source": "XEP-0215"}))
    elif creds.source:
        out.append(finding("credentials", PASSED, INFO, params={"source": creds.source},
                           evidence=["given on the command line (not shown)", *creds.evidence]))
    else:
        out.append(_skip("credentials", INFO, creds.why_none,
                         "Le serveur ne remet pas d'identifiants TURN aux invités et aucun n'a "
                         "été fourni (--turn-user avec --turn-password-stdin) : le relais n'est "
                         "vérifié que sans identifiants.", creds.evidence))
    # STUN and the unauthenticated Allocate, over UDP
    stun, udp = creds.stun, creds.udp
    if stun.refused:
        out.append(_skip("stun", MEDIUM, stun.refused,
                         "Le serveur STUN annoncé n'est pas celui du serveur audité : il n'a "
                         "pas été contacté."))
    else:
        client = CLIENT(stun.address, stun.port, timeout=timeout, tries=2)
        try:
            answer = client.request(turnprobe.BINDING, [], auth=False)
        except OSError as exc:
            answer = turnprobe.Answer(reason=str(exc), timeout=True)
        finally:
            client.close()
        ev = [f"STUN Binding to {stun}/udp: {answer}"]
        if answer.ok:
            out.append(finding("stun", PASSED, MEDIUM, evidence=ev))
        else:
            out.append(finding("stun", FAILED, MEDIUM, evidence=ev,
                               reason=f"no STUN answer from {stun}/udp ({answer})",
                               reason_fr="Le service STUN ne répond pas."))
    if udp.refused:
        out.append(_skip("unauthenticated", HIGH, udp.refused,
                         "Le serveur TURN annoncé n'est pas celui du serveur audité : il n'a "
                         "pas été contacté."))
        answer = None
    else:
        client = CLIENT(udp.address, udp.port, timeout=timeout, tries=2)
        attrs = [(turnprobe.REQUESTED_TRANSPORT, bytes([turnprobe.UDP_TRANSPORT, 0, 0, 0])),
                 (turnprobe.LIFETIME, struct.pack("!I", 60))]
        try:
            answer = client.request(turnprobe.ALLOCATE, attrs, auth=False)
            if answer.ok:  # an open relay: free what was just allocated
                client.relayed = ("?", 0)
        except OSError as exc:
            answer = turnprobe.Answer(reason=str(exc), timeout=True)
        finally:
            _free(client)
        ev = [f"Allocate without credentials to {udp}/udp: {answer}"]
        if answer.ok:
            out.append(finding("unauthenticated", FAILED, HIGH, evidence=ev,
                               reason=f"{udp} gave a relay to a request without credentials: "
                                      "an open relay",
                               reason_fr="Le relais accepte n'importe qui, sans identifiants."))
        elif answer.timeout:
            out.append(_skip("unauthenticated", HIGH,
                             f"no TURN server answers at {udp}/udp", "Aucun relais TURN ne "
                             "répond sur ce serveur.", ev))
        else:
            out.append(finding("unauthenticated", PASSED, HIGH, evidence=ev))
    turn_answers = answer is not None and not answer.timeout
    # With credentials
    if not creds.source:
        why = creds.why_none
        fr = "Non vérifié : aucun identifiant TURN disponible."
        out += [_skip(k, sev, f"not checked: {why}", fr)
                for k, sev in (("allocate", MEDIUM), ("allocate_tls", MEDIUM), ("peers", HIGH))]
        return out
    if udp.refused or not turn_answers:
        why = udp.refused or f"no TURN server answers at {udp}/udp"
        out.append(_skip("allocate", MEDIUM, why, "Aucun relais TURN joignable."))
        out.append(_peers_skipped(why))
    else:
        out += _with_relay(ctx, creds, timeout)
    out.insert(len(out) - 1, _tls(ctx, creds, timeout))
    return out


def _peers_skipped(why: str) -> Finding:
    return _skip("peers", HIGH, f"not checked: {why}",
                 "Non vérifié : aucune allocation de relais n'a pu être obtenue.")


def _with_relay(ctx: AuditContext, creds: Credentials, timeout: float) -> list[Finding]:
    udp = creds.udp
    results: list[tuple[str, str, str]] = []  # (peer, what, outcome)
    own = [(udp.address, "the TURN server itself")]
    if ctx.target.address != udp.address:
        own.append((ctx.target.address, "the audited web server"))
    client = CLIENT(udp.address, udp.port, timeout=timeout, tries=2)
    try:
        answer = _allocate(client, creds.username, creds.password)
        ev = [f"Allocate with the credentials ({creds.source}) to {udp}/udp: {answer}"]
        if answer.ok:
            relayed = client.relayed if client.relayed and _is_ip(client.relayed[0]) else None
            if relayed:
                ev.append(f"relayed address: {relayed[0]}")
            if relayed and relayed[0] not in (udp.address, ctx.target.address):
                own.append((relayed[0], "the relay's own address"))
            for peer, what in PEERS_V4 + [p for p in own if ":" not in p[0]]:
                results.append((peer, what, _peer_outcome(client.create_permission(peer))))
    except OSError as exc:
        answer = turnprobe.Answer(reason=str(exc), timeout=True)
        ev = [f"Allocate with the credentials to {udp}/udp: {exc}"]
    finally:
        _free(client)
    if not answer.ok:
        reason = f"{udp} refused an allocation with the credentials ({answer})"
        return [finding("allocate", FAILED, MEDIUM, evidence=ev, reason=reason,
                        reason_fr="Avec les identifiants remis aux participants, le relais "
                                  "refuse de servir."),
                _peers_skipped(reason)]
    alloc = finding("allocate", PASSED, MEDIUM, evidence=ev)
    peers_v6 = PEERS_V6 + [p for p in own if ":" in p[0]]
    # IPv6 peers through an IPv6 relay (RFC 8656 REQUESTED-ADDRESS-FAMILY)
    client6 = CLIENT(udp.address, udp.port, timeout=timeout, tries=2)
    try:
        answer6 = _allocate(client6, creds.username, creds.password, family=2)
        v6 = f"IPv6 Allocate with the credentials to {udp}/udp: {answer6}"
        if answer6.ok and client6.relayed:
            v6 += f", relayed address {client6.relayed[0]}"
        alloc.evidence.append(v6)
        if answer6.ok:
            for peer, what in peers_v6:
                results.append((peer, what, _peer_outcome(client6.create_permission(peer))))
        else:
            for peer, what in peers_v6:
                results.append((peer, what, f"no IPv6 relay to reach it ({answer6})"))
    except OSError as exc:
        for peer, what in peers_v6:
            results.append((peer, what, f"IPv6 relay not tried: {exc}"))
    finally:
        _free(client6)
    return [alloc, _peers(results)]


def _peers(results: list[tuple[str, str, str]]) -> Finding:
    ev = [f"CreatePermission {peer} ({what}): {outcome}" for peer, what, outcome in results]
    params = {"peers": {peer: outcome for peer, _, outcome in results}}
    allowed = [f"{peer} ({what})" for peer, what, outcome in results if outcome == "ALLOWED"]
    silent = [peer for peer, _, outcome in results if outcome == "no answer"]
    if allowed:
        return finding("peers", FAILED, HIGH, evidence=ev, params=params,
                       reason="the relay grants permissions to " + ", ".join(allowed),
                       reason_fr="À travers le relais, n'importe quel participant peut "
                                 "joindre des adresses internes du serveur : "
                                 + ", ".join(allowed) + ".")
    if silent:
        return finding("peers", SKIPPED, HIGH, evidence=ev, params=params,
                       reason="no answer to CreatePermission for " + ", ".join(silent),
                       reason_fr="Le relais n'a pas répondu pour certaines adresses.")
    return finding("peers", PASSED, HIGH, evidence=ev, params=params)


def _tls(ctx: AuditContext, creds: Credentials, timeout: float) -> Finding:
    tls = creds.tls
    if tls is None:
        return _skip("allocate_tls", MEDIUM, "the server announces no TURN over TLS (turns) "
                     "in XEP-0215", "Le serveur n'annonce pas de relais TURN en TLS.")
    if tls.refused:
        return _skip("allocate_tls", MEDIUM, tls.refused,
                     "Le relais TLS annoncé n'est pas celui du serveur audité : non contacté.")
    try:
        client = TLS_CLIENT(tls.address, tls.port, tls.host, timeout=timeout)
    except OSError as exc:
        reason = f"TLS connection to {tls}: {access._describe(exc, timeout)}"
        return finding("allocate_tls", FAILED, MEDIUM, evidence=[reason], reason=reason,
                       reason_fr="Le relais TURN en TLS annoncé ne répond pas.")
    try:
        answer = _allocate(client, creds.username, creds.password)
    except OSError as exc:
        answer = turnprobe.Answer(reason=str(exc), timeout=True)
    finally:
        _free(client)
    ev = [f"Allocate over TLS with the credentials to {tls}/tcp: {answer}"]
    if answer.ok:
        return finding("allocate_tls", PASSED, MEDIUM, evidence=ev)
    return finding("allocate_tls", FAILED, MEDIUM, evidence=ev,
                   reason=f"{tls} over TLS: {answer}",
                   reason_fr="Le relais TURN en TLS refuse une allocation avec les "
                             "identifiants remis aux participants.")
