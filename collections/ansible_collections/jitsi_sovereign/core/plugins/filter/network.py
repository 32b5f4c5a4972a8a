# jitsi-sovereign: addresses, networks and firewall openings, checked with Python's ipaddress.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over networks and firewall openings (the firewall role's ruleset, state file and
preflight). An opening is {proto, port, sources, comment}: port an int or a "LOW-HIGH" range,
sources the networks it admits (an empty list admits nobody).

    {{ ['10.0.0.0/8', '10.1.2.3/8'] | jitsi_sovereign.core.bad_networks }}
        -> ['10.1.2.3/8 has host bits set']      (strict: a network is written as its base)
    {{ [80, 443] | jitsi_sovereign.core.openings('tcp', 'web') }}
        -> the two ports open to everyone: [{proto: tcp, port: 80, sources: [0.0.0.0/0, ::/0],
           comment: web}, ...]
    {{ firewall_extra_rules | jitsi_sovereign.core.openings(comment='extra') }}
        -> each rule as an opening: a numeric port as an int, no sources = everyone, the
           comment reduced to the characters an nft comment can hold
    {{ openings | jitsi_sovereign.core.admitting('198.51.100.7', 22) }}
        -> the openings that let a TCP connection from that address to that port in
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping

EVERYONE = ["0.0.0.0/0", "::/0"]
_COMMENT_DROPPED = re.compile(r"[^A-Za-z0-9 ._:/,+()-]")


def _network(value):
    return ipaddress.ip_network(str(value), strict=True)


def bad_networks(values) -> list[str]:
    """Why each value that is not an address or a network (with no host bits set) is refused."""
    problems = []
    for value in values or []:
        try:
            _network(value)
        except ValueError as exc:
            problems.append(str(exc))
    return problems


def _comment(text) -> str:
    text = _COMMENT_DROPPED.sub("", str(text))
    # Cut as Jinja's truncate(100) cut it when the role built this list in Jinja (it keeps
    # up to 5 characters more whole), so that a ruleset stays the same byte for byte.
    return text if len(text) <= 105 else text[:100]


def openings(items, proto=None, comment="") -> list[dict]:
    """Each item (a port, or a rule {proto, port, sources, comment}) as an opening; what an
    item does not say comes from the arguments, its sources default to everyone."""
    out = []
    for item in items or []:
        rule = item if isinstance(item, Mapping) else {"port": item}
        port = str(rule.get("port"))
        out.append({"proto": rule.get("proto") or proto,
                    "port": int(port) if re.fullmatch("[0-9]+", port) else port,
                    "sources": list(rule.get("sources") or EVERYONE),
                    "comment": _comment(rule.get("comment") or comment)})
    return out


def _has_port(opening, port: int) -> bool:
    low, _, high = str(opening.get("port")).partition("-")
    try:
        return int(low) <= port <= int(high or low)
    except ValueError:
        return False


def _admits(sources, address) -> bool:
    for source in sources or []:
        try:
            network = _network(source)
        except ValueError:  # refused by bad_networks; admits nobody here
            continue
        if network.version == address.version and address in network:
            return True
    return False


def admitting(items, client, port, proto="tcp") -> list[dict]:
    """The openings that admit a `proto` connection from address `client` to `port`."""
    try:
        address = ipaddress.ip_address(str(client))
        port = int(port)
    except (TypeError, ValueError):
        return []
    return [o for o in items or [] if o.get("proto") == proto and _has_port(o, port)
            and _admits(o.get("sources"), address)]


class FilterModule:
    def filters(self):
        return {"bad_networks": bad_networks, "openings": openings, "admitting": admitting}
