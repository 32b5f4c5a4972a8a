"""coturn's /etc/turnserver.conf, parsed, and the baseline it is checked against.

The baseline values are hard-coded here (security baseline, coturn rows), never read
from the role's state file: the checks compare the host with them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

CONF_PATH = "/etc/turnserver.conf"

# Peers coturn must never relay to (anti-SSRF, baseline): private, loopback, CGNAT,
# link-local and metadata, IETF, documentation, reserved, and IPv6 forms of IPv4.
DENIED_PEER_CIDRS = [
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
    "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4",
    "::1/128", "fc00::/7", "fe80::/10", "64:ff9b::/96", "::ffff:0:0/96",
]
# Mozilla intermediate (guideline 6.0) TLS 1.2 ciphers.
MOZILLA_CIPHERS = [
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
]
# Flags that must be set, and options that must not appear.
REQUIRED_FLAGS = ["use-auth-secret", "fingerprint", "no-tlsv1", "no-tlsv1_1", "no-multicast-peers",
                  "no-cli", "no-tcp-relay", "no-rfc5780", "no-stun-backward-compatibility"]
FORBIDDEN = ["allow-loopback-peers", "web-admin", "no-auth", "lt-cred-mech", "cli-password",
             "log-file", "no-tls"]
MIN_SECRET_LENGTH = 32


class Secret(str):
    """A string that never shows itself in a report (repr, assertion introspection)."""

    def __repr__(self) -> str:
        return "<secret>"


@dataclass
class TurnConf:
    options: dict[str, list[str]] = field(default_factory=dict)  # name -> values ("" for flags)

    def has(self, name: str) -> bool:
        return name in self.options

    def values(self, name: str) -> list[str]:
        return self.options.get(name, [])

    def value(self, name: str) -> str | None:
        vals = self.options.get(name)
        return vals[-1] if vals else None

    @property
    def secret(self) -> Secret | None:
        value = self.value("static-auth-secret")
        return Secret(value) if value else None


def parse(text: str) -> TurnConf:
    """Lines "name", "name=value" or "name value"; # comments; quotes around a value dropped."""
    conf = TurnConf()
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "=" in line:
            name, _, value = line.partition("=")
        else:
            name, _, value = line.partition(" ")
        name, value = name.strip().lstrip("-"), value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        conf.options.setdefault(name, []).append(value)
    return conf


def peer_range(value: str) -> tuple[ipaddress._BaseAddress, ipaddress._BaseAddress]:
    """coturn's peer value: "IP", "FIRST-LAST" or a CIDR -> (first, last)."""
    value = value.strip()
    if "/" in value:
        net = ipaddress.ip_network(value, strict=False)
        return net[0], net[-1]
    if "-" in value:
        first, _, last = value.partition("-")
        a, b = ipaddress.ip_address(first.strip()), ipaddress.ip_address(last.strip())
        if a.version != b.version or a > b:
            raise ValueError(f"bad range {value}")
        return a, b
    addr = ipaddress.ip_address(value)
    return addr, addr


def uncovered(cidrs: list[str], denied: list[str]) -> list[str]:
    """The CIDRs of ``cidrs`` that no single denied-peer-ip value covers whole."""
    ranges = []
    for value in denied:
        try:
            ranges.append(peer_range(value))
        except ValueError:
            continue
    out = []
    for cidr in cidrs:
        net = ipaddress.ip_network(cidr)
        if not any(a.version == net.version and a <= net[0] and net[-1] <= b for a, b in ranges):
            out.append(cidr)
    return out


def in_ranges(ip: str, values: list[str]) -> bool:
    addr = ipaddress.ip_address(ip)
    for value in values:
        try:
            a, b = peer_range(value)
        except ValueError:
            continue
        if a.version == addr.version and a <= addr <= b:
            return True
    return False
