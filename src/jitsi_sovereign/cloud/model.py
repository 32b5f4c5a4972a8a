"""The values the cloud commands pass around: the request, a firewall rule, a region, a
created resource, the server's addresses."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DNS_CHOICES = ("none", "scaleway", "ovh", "gandi")


def default_name(domain: str) -> str:
    """A resource name from the meeting's domain: visio.mairie.fr -> jsov-visio-mairie-fr
    (lower case letters, digits and dashes, at most 63 characters)."""
    slug = re.sub(r"[^a-z0-9]+", "-", domain.lower()).strip("-")
    return f"jsov-{slug}"[:63].rstrip("-")


@dataclass
class CreateRequest:
    provider: str
    region: str
    domain: str
    ssh_public_key: str                 # the .pub text (one line)
    ssh_key_path: Path                  # the private key, for the inventory only
    size: str | None = None
    dns: str = "none"
    name: str = ""
    admin_cidrs: list[str] = field(default_factory=lambda: ["0.0.0.0/0", "::/0"])
    login_user: str = "debian"          # the admin user cloud-init creates (root login is off)
    # More firewall role variables (e.g. os_hardening_ssh_port, firewall_extra_rules): the
    # security group follows them exactly as the role would.
    firewall_vars: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name:
            self.name = default_name(self.domain)
        self.ssh_key_path = Path(self.ssh_key_path)


def _network(value: str) -> str:
    return str(ipaddress.ip_network(str(value), strict=False))


@dataclass(frozen=True, order=True)
class Rule:
    """An inbound opening: proto tcp|udp, a port range, the sources it admits (networks,
    normalised and sorted: two rules that admit the same are equal)."""

    proto: str
    port_from: int
    port_to: int
    sources: tuple[str, ...]

    def __post_init__(self) -> None:
        proto = str(self.proto).lower()
        if proto not in ("tcp", "udp"):
            raise ValueError(f"protocol {self.proto!r}: tcp or udp")
        low, high = int(self.port_from), int(self.port_to)
        if not 1 <= low <= high <= 65535:
            raise ValueError(f"port range {low}-{high}")
        object.__setattr__(self, "proto", proto)
        object.__setattr__(self, "port_from", low)
        object.__setattr__(self, "port_to", high)
        object.__setattr__(self, "sources", tuple(sorted({_network(s) for s in self.sources})))

    @property
    def ports(self) -> str:
        return str(self.port_from) if self.port_from == self.port_to else \
            f"{self.port_from}-{self.port_to}"

    def __str__(self) -> str:
        return f"{self.ports}/{self.proto} from {', '.join(self.sources) or 'nobody'}"

    def to_dict(self) -> dict:
        return {"proto": self.proto, "port_from": self.port_from, "port_to": self.port_to,
                "sources": list(self.sources)}

    @classmethod
    def from_dict(cls, data: dict) -> Rule:
        return cls(data["proto"], data["port_from"], data["port_to"], tuple(data["sources"]))


def merge_rules(rules) -> list[Rule]:
    """Rules with the same protocol and ports merged (their sources together), sorted: the
    form in which the plan and a live security group are compared."""
    merged: dict[tuple[str, int, int], set[str]] = {}
    for r in rules:
        merged.setdefault((r.proto, r.port_from, r.port_to), set()).update(r.sources)
    return sorted(Rule(p, a, b, tuple(s)) for (p, a, b), s in merged.items())


@dataclass(frozen=True)
class Region:
    code: str
    city: str
    country: str = "FR"
    jurisdiction: str = ""              # the law the data falls under, in plain words
    certification: str | None = None    # e.g. "SecNumCloud"

    def __str__(self) -> str:
        cert = f", {self.certification}" if self.certification else ""
        return f"{self.code} ({self.city}, {self.country}{cert})"


@dataclass
class Resource:
    """Something a provider created and the state file lists: kind (server, ip,
    security_group, dns_record, ...), the provider's id, its region/zone, and what delete
    needs besides the id (never a credential)."""

    kind: str
    id: str
    region: str
    info: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "id": self.id, "region": self.region, "info": self.info}

    @classmethod
    def from_dict(cls, data: dict) -> Resource:
        return cls(data["kind"], data["id"], data["region"], dict(data.get("info") or {}))


@dataclass
class Server:
    id: str
    public_ipv4: str | None
    public_ipv6: str | None = None
    private_ipv4: str | None = None

    def to_dict(self) -> dict:
        return {"id": self.id, "public_ipv4": self.public_ipv4, "public_ipv6": self.public_ipv6,
                "private_ipv4": self.private_ipv4}
