"""What is audited and where to reach it, checked before any packet is sent."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from jitsi_sovereign.errors import UserError


@dataclass(frozen=True)
class Target:
    url: str  # normalised: https://name[:port]/
    name: str  # the server's name: SNI, Host header, certificate checks
    port: int  # HTTPS port in the URL
    address: str  # the IP address packets go to (--connect-to, else the name resolved)
    connect_port: int  # the port packets go to for HTTPS
    cafile: Path | None = None  # extra trusted CA (PEM), e.g. the lab's ACME root
    timeout: float = 5.0  # every network step is bounded by this (seconds)
    connect_to: bool = False  # packets go where --connect-to said, not where the name resolves


def parse_target(url: str, *, connect_to: str | None = None, cafile: Path | None = None,
                 timeout: float = 5.0) -> Target:
    """The URL and options as a Target, or a UserError that names the bad value."""
    raw = url.strip()
    if "://" not in raw:
        raise UserError(f"{url!r} has no scheme", f"write the full address: https://{raw}")
    parts = urlsplit(raw)
    if parts.scheme != "https":
        raise UserError(f"{url!r}: a Jitsi Meet server is audited over https, not {parts.scheme}",
                        f"https://{parts.netloc}")
    name = (parts.hostname or "").rstrip(".").lower()
    if not name:
        raise UserError(f"{url!r} has no host name", "e.g. https://meet.example.fr")
    try:
        port = parts.port or 443
    except ValueError as exc:
        raise UserError(f"{url!r}: {exc}", "a port is a number from 1 to 65535") from None
    if cafile is not None and not Path(cafile).is_file():
        raise UserError(f"--cafile {cafile}: no such file",
                        "give the PEM file of the CA that signed the server's certificate")
    netloc = name if port == 443 else f"{name}:{port}"
    if connect_to:
        host, sep, cport = connect_to.rpartition(":")
        host = host.strip("[]")
        if not sep or not host or not cport.isdigit() or not 0 < int(cport) < 65536:
            raise UserError(f"--connect-to {connect_to!r} is not HOST:PORT",
                            "e.g. --connect-to 10.0.0.5:443 (IPv6: [2001:db8::5]:443)")
        address, connect_port = _resolve(host, f"--connect-to {connect_to}"), int(cport)
    else:
        address, connect_port = _resolve(name, url), port
    return Target(url=f"https://{netloc}/", name=name, port=port, address=address,
                  connect_port=connect_port, cafile=Path(cafile) if cafile else None,
                  timeout=timeout, connect_to=bool(connect_to))


def _resolve(host: str, what: str) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UserError(f"{what}: the name {host} does not resolve ({exc.strerror or exc})",
                        "check the name, or reach the server by address with "
                        "--connect-to ADDRESS:443") from None
    return str(infos[0][4][0])
