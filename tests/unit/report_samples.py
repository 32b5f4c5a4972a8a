"""Sample reports of both commands, as the tests and bench/report_html.py render them.

The audit sample holds text a hostile server could send (markup, a URL of an image) in
its evidence: a renderer must show it as text, and a browser must fetch nothing.
"""

from __future__ import annotations

from jitsi_sovereign.report import model, personal
from jitsi_sovereign.report.model import FAILED, HIGH, LOW, MEDIUM, PASSED, SKIPPED, Finding
from jitsi_sovereign.verify import CheckResult
from jitsi_sovereign.verify import Report as VerifyReport

HOSTILE = '<script>alert(1)</script><img src="http://evil.example/x.png" alt="">'


def audit_report() -> model.Report:
    f = Finding
    findings = [
        f("tls.protocols", "tls", "Only TLS 1.2 and 1.3 are accepted", PASSED,
          evidence=["TLS 1.0: refused", "TLS 1.1: refused", "TLS 1.2: accepted",
                    "TLS 1.3: accepted"],
          texts={"fr": {"title": "Seuls TLS 1.2 et 1.3 sont acceptés"}}),
        f("tls.certificate", "tls", "The certificate is valid for the name and not expired",
          PASSED, evidence=["subject CN=meet.example.fr", "expires 2027-03-01"],
          texts={"fr": {"title": "Le certificat est valide pour ce nom et n'a pas expiré"}}),
        f("http.hsts", "http", "Browsers are told to use HTTPS only (HSTS)", FAILED,
          reason="no Strict-Transport-Security header on https://meet.example.fr/",
          fix="add 'Strict-Transport-Security: max-age=63072000; includeSubDomains' to the "
              "HTTPS server",
          evidence=["GET https://meet.example.fr/ -> 200", "server: nginx", HOSTILE],
          texts={"fr": {"title": "Les navigateurs doivent n'utiliser que HTTPS (HSTS)",
                        "reason": "le serveur n'envoie pas l'en-tête HSTS",
                        "fix": "demander à l'hébergeur d'ajouter l'en-tête "
                               "Strict-Transport-Security au site"}}),
        f("http.server_token", "http", "The web server does not tell its version", FAILED,
          severity=LOW, reason="Server: nginx/1.22.1",
          fix="server_tokens off;", evidence=["Server: nginx/1.22.1"],
          texts={"fr": {"title": "Le serveur web ne révèle pas sa version",
                        "fix": "régler server_tokens off dans nginx"}}),
        f("sovereignty.third_parties", "sovereignty",
          "config.js names no third-party server", FAILED,
          reason="config.js names www.gravatar.com (gravatar.baseUrl)",
          fix="remove gravatar.baseUrl and set gravatar.disabled: true",
          evidence=["gravatar.baseUrl = 'https://www.gravatar.com/avatar/'", HOSTILE],
          params={"hosts": ["www.gravatar.com"]},
          texts={"fr": {"title": "L'application ne s'adresse à aucun serveur tiers",
                        "reason": "l'application contacte www.gravatar.com (avatars)",
                        "fix": "désactiver Gravatar dans la configuration de Jitsi"}}),
        f("sovereignty.e2ee", "sovereignty", "End-to-end encryption is offered", PASSED,
          severity=MEDIUM, evidence=["e2ee.disabled = false"]),
        f("access.anonymous_main", "access", "Anonymous login on the main domain is refused",
          PASSED, evidence=["SASL mechanisms on meet.example.fr: PLAIN, SCRAM-SHA-1",
                            "ANONYMOUS: not offered"],
          texts={"fr": {"title": "On ne peut pas ouvrir de réunion sans compte"}}),
        f("access.guest_create_room", "access", "A guest cannot create a room", SKIPPED,
          reason="needs Jitsi's own prosody modules (jitsi-meet-prosody), not installed here",
          texts={"fr": {"title": "Un invité ne peut pas créer de salle",
                        "reason": "demande les modules de Jitsi, absents de ce serveur"}}),
        f("network.tcp.5222", "network", "Port 5222/tcp (XMPP) is not reachable", PASSED,
          evidence=["198.51.100.11:5222: timed out after 1.5 s"]),
        f("network.udp.10000", "network", "Port 10000/udp (media) answers", PASSED,
          evidence=["198.51.100.11:10000/udp: ICMP port unreachable"]),
        f("turn.denied_loopback", "turn", "The relay refuses to reach 127.0.0.1", SKIPPED,
          reason="no TURN credentials: the server hands none to guests and --turn-user was "
                 "not given"),
    ]
    return model.Report(kind="audit", target="https://meet.example.fr/", findings=findings,
                        hosts={"meet.example.fr": {"address": "198.51.100.11", "port": 443,
                                                   "connect_to": True}},
                        duration=4.2, tool_version="0.1.0")


SAMPLE_STATES = {
    "os_hardening": {
        "areas": {"journald": {"applied": True}, "fail2ban": {"applied": True}},
        "journald": {"storage": "persistent", "system_max_use": "1G",
                     "max_retention": "30day"},
        "fail2ban": {"bantime": "1h", "findtime": "10m", "maxretry": 5},
    },
    "nginx": {"access_log": "off", "log_dir": "/var/log/nginx/jitsi-sovereign",
              "log_retention_days": 14},
    "prosody": {"auth": "internal", "token_log": None},
    "coturn": {"log": "journal (syslog), no log file"},
    "jitsi_web": {"config_js": "/etc/jitsi/meet/meet.example.fr-config.js"},
}
SAMPLE_CONFIG = {"doNotStoreRoom": True, "recordingService": {"enabled": False},
                 "liveStreaming": {"enabled": False}, "transcription": {"enabled": False}}
DEBIAN_PROSODY_LOGROTATE = "/var/log/prosody/prosody.log /var/log/prosody/prosody.err {\n" \
                           "\tweekly\n\trotate 52\n\tcompress\n}\n"
HOSTING = {"provider": "OVHcloud", "region": "GRA (Gravelines)", "country": "France",
           "jurisdiction": "droit français (UE)", "certification": "SecNumCloud"}

_CHECKS = [
    ("ssh.option[PasswordAuthentication]", "sshd option has its baseline value", PASSED, ""),
    ("ssh.option[X11Forwarding]", "sshd option has its baseline value", FAILED,
     "X11Forwarding is yes, wants no"),
    ("firewall.policy", "base chain policy is drop", PASSED, ""),
    ("journald.retention", "MaxRetentionSec is set to the promised age", PASSED, ""),
    ("auditd.service", "auditd.service is enabled and active", SKIPPED,
     "os_hardening did not apply auditd: container (systemd-nspawn) shares the host's kernel"),
    ("nginx.access_log", "access logs are off or keep no client address, as promised",
     PASSED, ""),
    ("outside_tls.protocol[TLSv1.0]", "old protocol version is refused", PASSED, ""),
    ("jicofo.service", "jicofo runs", SKIPPED,
     "jitsi-meet packages are not installed: Jitsi's repository cannot be reached here"),
    ("jitsi_web.no_foreign_hosts", "every host named in the served config.js is the domain",
     PASSED, ""),
]


def verify_results(host: str = "meet1", repeat: int = 1) -> list[CheckResult]:
    out = []
    for i in range(repeat):
        for check, title, status, reason in _CHECKS:
            cid = check if repeat == 1 else f"{check}#{i}"
            out.append(CheckResult(host, cid, title, status, reason, 0.01))
    return out


def verify_report(repeat: int = 1, hosting: dict | None = HOSTING) -> model.Report:
    """A verify report as run_verify makes it (its CheckResults converted)."""
    report = VerifyReport(target="inventories/school/hosts.yml", duration=9.8,
                          hosts={"meet1": {"address": "198.51.100.11", "duration": 9.8,
                                           "connection_error": None}})
    report.results = verify_results(repeat=repeat)
    report.hosting = {"meet1": hosting}
    report.personal_data = personal.items(
        "meet1", SAMPLE_STATES, config=SAMPLE_CONFIG,
        prosody_logrotate=DEBIAN_PROSODY_LOGROTATE, fail2ban_dbpurgeage="1d")
    return report.to_report()


def big_verify_report(n: int = 300) -> model.Report:
    """A realistic verify report of about ``n`` findings (bench)."""
    return verify_report(repeat=max(1, n // len(_CHECKS)))


__all__ = ["HIGH", "HOSTILE", "audit_report", "big_verify_report", "verify_report"]
