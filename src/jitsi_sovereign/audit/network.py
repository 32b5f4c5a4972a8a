"""Audit area 'network': which ports of the server answer from outside.

Every probe is bounded (at most ``PROBE_TIMEOUT`` s, or the target's timeout when
shorter) and they all run at once, so the area takes about one probe's time. Packets go
only to the target's address (where --connect-to points).

What must answer:

* ``network.https``: 443/tcp (the HTTPS port of the URL);
* ``network.media_udp``: 10000/udp, the videobridge's media port. Probed with a STUN
  Binding request. A videobridge answers STUN only with the ICE credentials of a meeting
  it hosts, so a healthy one is usually SILENT to this probe, exactly like a firewall
  that drops the port: silence is SKIPPED ("cannot be told apart from outside"), never
  passed. An ICMP port-unreachable proves that nothing listens: FAILED, unless the server
  itself shows that it does not run Jitsi's services yet (no web app served:
  ``ctx.web_app_missing()``), then SKIPPED with that reason. A STUN answer passes;
* ``network.turn_udp``: the TURN/STUN server (coturn) on 3478/udp answers a STUN
  Binding request (the port from config.js's p2p.stunServers when it names this server);
* ``network.turn_tls``: TURN over TLS, 5349/tcp, completes a TLS handshake.

What must not answer (open = a connection was accepted): ``network.internal`` (XMPP
client and server ports, prosody's HTTP, the component port, jicofo's and the
videobridge's REST ports), ``network.databases``, and ``network.ssh`` (SSH reachable by
everyone: low severity, a login still needs a key or password; admin networks should be
the only ones to reach it). The audit sends no login attempt: only the SSH banner is read.
"""

from __future__ import annotations

import os
import re
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor

from jitsi_sovereign.audit.context import AuditContext, Skip, permissive_tls
from jitsi_sovereign.audit.findings import FAILED, PASSED, SKIPPED, finding
from jitsi_sovereign.checks import probes, turnprobe
from jitsi_sovereign.report.model import HIGH, LOW, MEDIUM, Finding

PROBE_TIMEOUT = 2.0
MEDIA_UDP = 10000
TURN_UDP = 3478
TURN_TLS = 5349

# Ports that must not answer from outside: port -> (what, severity when open).
INTERNAL: dict[int, tuple[str, str]] = {
    5222: ("prosody XMPP client port (jicofo's and the bridges' logins)", MEDIUM),
    5269: ("prosody XMPP server-to-server port", MEDIUM),
    5280: ("prosody HTTP (BOSH/websocket without TLS, admin modules)", MEDIUM),
    5281: ("prosody HTTPS (BOSH/websocket, admin modules)", MEDIUM),
    5347: ("prosody component port (secret-protected components)", HIGH),
    8080: ("videobridge private REST API (colibri: conferences, statistics)", HIGH),
    8888: ("jicofo REST API (conference requests, statistics)", HIGH),
    9090: ("videobridge public HTTP (colibri websockets; nginx proxies it)", MEDIUM),
}
DATABASES: dict[int, tuple[str, str]] = {
    3306: ("MySQL/MariaDB", HIGH),
    5432: ("PostgreSQL", HIGH),
    6379: ("Redis", HIGH),
    27017: ("MongoDB", HIGH),
    11211: ("memcached", HIGH),
}
SSH = 22

TITLES = {
    "https": ("The meeting site answers on port 443", "Le site de réunion répond sur le port 443"),
    "media_udp": ("The videobridge's media port answers (10000/udp)",
                  "Le port des flux audio et vidéo répond (10000/udp)"),
    "turn_udp": ("The server's own TURN/STUN relay answers (3478/udp)",
                 "Le relais TURN/STUN du serveur répond (3478/udp)"),
    "turn_tls": ("The TURN relay answers over TLS (5349/tcp) for participants behind strict "
                 "firewalls",
                 "Le relais TURN répond en TLS (5349/tcp) pour les participants derrière un "
                 "pare-feu strict"),
    "internal": ("Internal services are not reachable from the internet",
                 "Les services internes ne sont pas joignables depuis internet"),
    "databases": ("No database is reachable from the internet",
                  "Aucune base de données n'est joignable depuis internet"),
    "ssh": ("Remote administration (SSH) is not open to everyone",
            "L'administration à distance (SSH) n'est pas ouverte à tous"),
}
SEVERITY = {"https": HIGH, "media_udp": HIGH, "turn_udp": MEDIUM, "turn_tls": MEDIUM,
            "internal": HIGH, "databases": HIGH, "ssh": LOW}


def _f(name: str, status: str, *, severity: str | None = None, reason: str = "",
       fix: str = "", evidence: list[str] | None = None, params: dict | None = None,
       fr_reason: str = "", fr_fix: str = "") -> Finding:
    title, fr_title = TITLES[name]
    return finding(f"network.{name}", title, status,
                   severity=severity if status == FAILED and severity else SEVERITY[name],
                   reason=reason, fix=fix, evidence=evidence, params=params,
                   fr={"title": fr_title, "reason": fr_reason, "fix": fr_fix})


# ------------------------------------------------------------------ probes


def stun_binding(address: str, port: int, timeout: float, tries: int = 3) -> probes.PortProbe:
    """A STUN Binding request on a connected UDP socket: ``answered`` (a STUN success with
    our transaction id; the detail names the mapped address), ``closed`` (ICMP port
    unreachable), ``silent``, ``rejected`` or ``error``."""
    start = time.monotonic()
    txid = os.urandom(12)
    packet = turnprobe.encode(turnprobe.message_type(turnprobe.BINDING, turnprobe.REQUEST),
                              txid, [])
    try:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.connect((address, port))
            s.settimeout(timeout / tries)
            for _ in range(tries):
                s.send(packet)
                deadline = time.monotonic() + timeout / tries
                while time.monotonic() < deadline:
                    try:
                        data = s.recv(2048)
                    except TimeoutError:
                        break
                    try:
                        msg = turnprobe.decode(data)
                    except ValueError:
                        return probes.PortProbe("udp", port, "answered",
                                                f"{len(data)} bytes, not STUN",
                                                time.monotonic() - start)
                    if msg.txid != txid:
                        continue
                    mapped = msg.get(turnprobe.XOR_MAPPED_ADDRESS)
                    where = ""
                    if mapped is not None:
                        ip, mport = turnprobe.parse_xor_address(mapped, txid)
                        where = f", sees this client as {ip}:{mport}"
                    kind = "success" if msg.cls == turnprobe.SUCCESS else "error"
                    return probes.PortProbe("udp", port, "answered", f"STUN binding {kind}"
                                            f"{where}", time.monotonic() - start)
            return probes.PortProbe("udp", port, "silent",
                                    f"no answer and no ICMP error within {timeout:g} s",
                                    time.monotonic() - start)
    except ConnectionRefusedError:
        return probes.PortProbe("udp", port, "closed", "ICMP port unreachable",
                                time.monotonic() - start)
    except OSError as exc:
        return probes.PortProbe("udp", port, "error", f"{type(exc).__name__}: {exc}",
                                time.monotonic() - start)


def tls_handshake(address: str, port: int, name: str, timeout: float) -> probes.PortProbe:
    start = time.monotonic()
    try:
        with socket.create_connection((address, port), timeout=timeout) as raw, \
                permissive_tls().wrap_socket(raw, server_hostname=name) as tls:
            detail = f"TLS handshake done ({tls.version()})"
        return probes.PortProbe("tcp", port, "open", detail, time.monotonic() - start)
    except ConnectionRefusedError:
        return probes.PortProbe("tcp", port, "closed", "connection refused (RST)",
                                time.monotonic() - start)
    except TimeoutError:
        return probes.PortProbe("tcp", port, "filtered", f"no answer within {timeout:g} s",
                                time.monotonic() - start)
    except (OSError, ssl.SSLError) as exc:
        return probes.PortProbe("tcp", port, "error", f"TLS handshake failed: {exc}",
                                time.monotonic() - start)


def ssh_banner(address: str, port: int, timeout: float) -> str | None:
    """The server's identification line (read only: nothing is sent)."""
    try:
        with socket.create_connection((address, port), timeout=timeout) as s:
            s.settimeout(timeout)
            data = s.recv(256)
    except OSError:
        return None
    line = data.split(b"\n", 1)[0].decode("ascii", errors="replace").strip()
    return line or None


def _turn_port(ctx: AuditContext) -> int:
    """3478, or the port of the first stun:/turn: URI of config.js naming this server."""
    try:
        served = ctx.config_js()
    except Skip:
        return TURN_UDP
    names = {ctx.target.name, str(served.get("hosts.domain") or "")}
    for entry in served.get("p2p.stunServers") or []:
        urls = entry.get("urls") if isinstance(entry, dict) else None
        for url in urls if isinstance(urls, list) else [urls]:
            m = re.match(r"(?:stuns?|turns?):([^:?]+)(?::(\d+))?", str(url or ""))
            if m and m.group(1).lower() in names and not str(url).startswith(("turns:",
                                                                               "stuns:")):
                return int(m.group(2) or TURN_UDP)
    return TURN_UDP


def run(ctx: AuditContext) -> list[Finding]:
    t = ctx.target
    timeout = min(PROBE_TIMEOUT, t.timeout)
    turn_port = _turn_port(ctx)
    tcp_closed = sorted({*INTERNAL, *DATABASES, SSH} - {t.connect_port})
    with ThreadPoolExecutor(max_workers=len(tcp_closed) + 6) as pool:
        https = pool.submit(probes.probe_tcp, t.address, t.connect_port, timeout)
        media = pool.submit(stun_binding, t.address, MEDIA_UDP, timeout)
        turn = pool.submit(stun_binding, t.address, turn_port, timeout)
        turn_tls = pool.submit(tls_handshake, t.address, TURN_TLS, t.name, timeout)
        closed = {p: pool.submit(probes.probe_tcp, t.address, p, timeout) for p in tcp_closed}
        web_app = pool.submit(ctx.web_app_missing)
        results = {p: f.result() for p, f in closed.items()}
        banner = ssh_banner(t.address, SSH, timeout) if results[SSH].status == "open" else None
        return [
            https_finding(https.result(), t.connect_port),
            media_finding(media.result(), web_app.result()),
            turn_finding(turn.result()),
            turn_tls_finding(turn_tls.result()),
            exposed("internal", INTERNAL, results),
            exposed("databases", DATABASES, results),
            ssh_finding(results[SSH], banner),
        ]


def _line(p: probes.PortProbe) -> str:
    return f"{p.port}/{p.proto}: {p.status} ({p.detail})"


def https_finding(p: probes.PortProbe, port: int) -> Finding:
    if p.status == "open":
        return _f("https", PASSED, evidence=[_line(p)])
    return _f("https", FAILED, reason=f"{port}/tcp is {p.status} ({p.detail})",
              fix="start the web server and open 443/tcp in the firewall", evidence=[_line(p)],
              fr_reason="Le site de réunion ne répond pas.",
              fr_fix="Démarrer le serveur web et ouvrir le port 443/tcp du pare-feu.")


def media_finding(p: probes.PortProbe, web_app_missing: str | None) -> Finding:
    evidence = [_line(p)]
    if p.status == "answered":
        return _f("media_udp", PASSED, evidence=evidence)
    if p.status == "silent":
        return _f("media_udp", SKIPPED,
                  reason="no answer on 10000/udp: a videobridge answers only participants of a "
                         "meeting it hosts, and a firewall that drops the port looks the same; "
                         "this cannot be told apart from outside without joining a meeting",
                  evidence=evidence,
                  fr_reason="Pas de réponse sur 10000/udp : depuis l'extérieur, on ne peut pas "
                            "distinguer un pont vidéo qui fonctionne d'un pare-feu qui bloque, "
                            "sans rejoindre une réunion.")
    if p.status == "closed" and web_app_missing:
        evidence.append(web_app_missing)
        return _f("media_udp", SKIPPED,
                  reason=f"{web_app_missing}, so no meeting runs here yet; nothing listens on "
                         "10000/udp (ICMP port unreachable): the videobridge is checked once "
                         "Jitsi's own services run",
                  evidence=evidence,
                  fr_reason="Les services Jitsi ne sont pas encore installés sur ce serveur : "
                            "le port des flux audio et vidéo sera vérifié ensuite.")
    if p.status == "error":
        return _f("media_udp", SKIPPED, reason=f"10000/udp could not be probed: {p.detail}",
                  evidence=evidence, fr_reason="Le port 10000/udp n'a pas pu être testé.")
    why = ("nothing listens on 10000/udp (ICMP port unreachable): the videobridge is not "
           "running" if p.status == "closed" else f"10000/udp is {p.status} ({p.detail})")
    return _f("media_udp", FAILED,
              reason=f"{why}: meetings of three or more have no sound or video",
              fix="start jitsi-videobridge2 and let 10000/udp through the firewall",
              evidence=evidence,
              fr_reason="Le pont vidéo ne répond pas : les réunions à trois ou plus n'ont ni son "
                        "ni image.",
              fr_fix="Démarrer le pont vidéo (jitsi-videobridge2) et ouvrir 10000/udp.")


def turn_finding(p: probes.PortProbe) -> Finding:
    evidence = [_line(p)]
    if p.status == "answered":
        return _f("turn_udp", PASSED, evidence=evidence)
    if p.status == "error":
        return _f("turn_udp", SKIPPED, reason=f"{p.port}/udp could not be probed: {p.detail}",
                  evidence=evidence, fr_reason="Le relais TURN n'a pas pu être testé.")
    return _f("turn_udp", FAILED,
              reason=f"no STUN answer on {p.port}/udp ({p.status}: {p.detail}): participants "
                     "behind a NAT or a firewall cannot reach the meeting through the server's "
                     "own relay",
              fix=f"run coturn on {p.port}/udp and open it in the firewall", evidence=evidence,
              fr_reason="Le relais TURN du serveur ne répond pas : des participants derrière "
                        "un pare-feu ne pourront pas se connecter.",
              fr_fix="Démarrer coturn et ouvrir 3478/udp dans le pare-feu.")


def turn_tls_finding(p: probes.PortProbe) -> Finding:
    evidence = [_line(p)]
    if p.status == "open":
        return _f("turn_tls", PASSED, evidence=evidence)
    return _f("turn_tls", FAILED,
              reason=f"no TLS on {TURN_TLS}/tcp ({p.status}: {p.detail}): participants whose "
                     "network lets only encrypted web traffic through cannot connect",
              fix="enable coturn's TLS listener (tls-listening-port=5349, a certificate for "
                  "the name) and open 5349/tcp", evidence=evidence,
              fr_reason="Le relais TURN ne répond pas en TLS : certains réseaux d'entreprise "
                        "ou d'établissement ne pourront pas se connecter.",
              fr_fix="Activer TLS dans coturn (port 5349) et ouvrir 5349/tcp.")


def exposed(name: str, ports: dict[int, tuple[str, str]],
            results: dict[int, probes.PortProbe]) -> Finding:
    evidence, open_ports, unknown = [], [], []
    for port, (what, _) in sorted(ports.items()):
        p = results.get(port)
        if p is None:
            continue
        evidence.append(f"{_line(p)}: {what}")
        if p.status == "open":
            open_ports.append(port)
        elif p.status == "error":
            unknown.append(port)
    params = {"open": open_ports, "not_probed": unknown}
    if open_ports:
        severity = HIGH if any(ports[p][1] == HIGH for p in open_ports) else MEDIUM
        names = ", ".join(f"{p}/tcp ({ports[p][0]})" for p in open_ports)
        return _f(name, FAILED, severity=severity,
                  reason=f"reachable from outside: {names}",
                  fix="close these ports in the firewall (default deny; only 80, 443/tcp, "
                      "10000/udp, 3478 and 5349 open) or bind the services to loopback",
                  evidence=evidence, params=params,
                  fr_reason="Des services internes du serveur sont joignables depuis internet "
                            f"(ports {', '.join(str(p) for p in open_ports)}).",
                  fr_fix="Fermer ces ports dans le pare-feu.")
    if unknown:
        return _f(name, SKIPPED, reason="could not be probed: "
                  + ", ".join(f"{p}/tcp" for p in unknown), evidence=evidence, params=params,
                  fr_reason="Certains ports n'ont pas pu être testés.")
    return _f(name, PASSED, evidence=evidence, params=params)


def ssh_finding(p: probes.PortProbe, banner: str | None) -> Finding:
    evidence = [_line(p)]
    if banner:
        evidence.append(f"banner: {banner}")
    evidence.append("no login attempted: whether passwords are accepted is not tested")
    if p.status != "open":
        return _f("ssh", PASSED, evidence=evidence)
    return _f("ssh", FAILED, severity=LOW,
              reason="SSH answers to every address: anyone can try to log in (a key or "
                     "password is still needed)",
              fix="allow SSH only from the administrators' networks (firewall_admin_cidrs), "
                  "keep key-only login and fail2ban", evidence=evidence,
              params={"banner": banner},
              fr_reason="L'accès d'administration (SSH) est ouvert à tout internet ; une clé "
                        "ou un mot de passe reste nécessaire pour se connecter.",
              fr_fix="Réserver SSH aux réseaux des administrateurs.")
