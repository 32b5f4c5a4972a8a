"""The lab bridge, its no-forwarding guard, and the machine's own addresses and routes."""

from __future__ import annotations

import json
import re

from jitsi_sovereign.errors import UserError
from jitsi_sovereign.lab.config import LabConfig, overlaps
from jitsi_sovereign.lab.util import run


def machine_addresses() -> list[tuple[str, str]]:
    """IPv4 (interface, "addr/prefix") of this machine."""
    data = json.loads(run(["ip", "-4", "-j", "addr", "show"]).stdout or "[]")
    return [(link["ifname"], f"{a['local']}/{a['prefixlen']}")
            for link in data for a in link.get("addr_info", []) if a.get("family") == "inet"]


def machine_routes() -> list[tuple[str, str]]:
    """IPv4 (device, destination) routes of every table."""
    data = json.loads(run(["ip", "-4", "-j", "route", "show", "table", "all"]).stdout or "[]")
    return [(r.get("dev", ""), r.get("dst", "")) for r in data if r.get("dst")]


def check_subnet_free(config: LabConfig) -> None:
    """UserError if the lab subnet is already used on this machine (besides our bridge)."""
    found = overlaps(config.subnet, config.bridge, machine_addresses(), machine_routes())
    if found:
        raise UserError(f"the lab network {config.subnet} is already used on this machine: "
                        + "; ".join(found),
                        "set JSOV_LAB_SUBNET to a free network (e.g. 198.51.100.128/25) "
                        "and JSOV_LAB_BRIDGE to another bridge name")


def bridge_exists(bridge: str) -> bool:
    """True if an interface of that name exists."""
    return run(["ip", "link", "show", "dev", bridge], check=False).returncode == 0


def _bridge_addresses(bridge: str) -> list[str]:
    return [cidr for dev, cidr in machine_addresses() if dev == bridge]


def ensure_bridge(config: LabConfig) -> None:
    """Create (or reuse) the bridge with the gateway address, up, and the forward guard."""
    want = f"{config.gateway}/{config.subnet.prefixlen}"
    if bridge_exists(config.bridge):
        kind = run(["ip", "-j", "-d", "link", "show", "dev", config.bridge]).stdout
        info = json.loads(kind)[0].get("linkinfo", {})
        if info.get("info_kind") != "bridge":
            raise UserError(f"interface {config.bridge} exists and is not a bridge",
                            "set JSOV_LAB_BRIDGE to another name")
        other = [a for a in _bridge_addresses(config.bridge) if a != want]
        if other:
            raise UserError(f"bridge {config.bridge} already has {', '.join(other)}, "
                            f"not the lab gateway {want}: another lab may use it",
                            "set JSOV_LAB_BRIDGE and JSOV_LAB_SUBNET to a bridge and network "
                            "of their own")
    else:
        run(["ip", "link", "add", config.bridge, "type", "bridge"])
    if want not in _bridge_addresses(config.bridge):
        run(["ip", "addr", "add", want, "dev", config.bridge])
    run(["ip", "link", "set", config.bridge, "up"])
    _ensure_guard(config)


def delete_bridge(config: LabConfig) -> None:
    """Remove the bridge and the forward guard (both may already be gone)."""
    if bridge_exists(config.bridge):
        run(["ip", "link", "del", config.bridge])
    table = guard_table(config.bridge)
    if run(["nft", "list", "table", "inet", table], check=False).returncode == 0:
        run(["nft", "delete", "table", "inet", table])


def guard_table(bridge: str) -> str:
    """Name of the nft table that stops forwarding to or from the bridge."""
    return "jsov_lab_" + re.sub(r"[^A-Za-z0-9_]", "_", bridge)


def guard_ruleset(bridge: str) -> str:
    """nft ruleset: the lab hosts talk to this machine only, never beyond (no forwarding)."""
    table = guard_table(bridge)
    return (f"table inet {table} {{\n"
            f"  chain forward {{\n"
            f"    type filter hook forward priority filter - 10; policy accept;\n"
            f'    iifname "{bridge}" oifname != "{bridge}" drop\n'
            f'    oifname "{bridge}" iifname != "{bridge}" drop\n'
            f"  }}\n"
            f"}}\n")


def _ensure_guard(config: LabConfig) -> None:
    table = guard_table(config.bridge)
    if run(["nft", "list", "table", "inet", table], check=False).returncode != 0:
        run(["nft", "-f", "-"], input_text=guard_ruleset(config.bridge))
