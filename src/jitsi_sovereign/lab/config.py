"""Lab settings (from the environment) and the address plan of its subnet."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from jitsi_sovereign.errors import UserError

DEFAULT_DIR = "/var/lib/jitsi-sovereign/lab"
DEFAULT_CACHE = "/var/cache/jitsi-sovereign/images"
DEFAULT_BRIDGE = "jsov0"
DEFAULT_SUBNET = "198.51.100.0/25"
FIRST_HOST = 11  # hosts get .11, .12, ... of the subnet; the gateway is .1
PROXY_PORT = 3142
_BRIDGE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$")
_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}$")


@dataclass(frozen=True)
class LabConfig:
    """Where the lab keeps its state and which network it uses."""

    state_dir: Path
    cache_dir: Path
    bridge: str
    subnet: ipaddress.IPv4Network

    @property
    def gateway(self) -> ipaddress.IPv4Address:
        """The bridge's own address: the first of the subnet."""
        return self.subnet.network_address + 1

    @property
    def proxy_url(self) -> str:
        """The apt proxy the hosts use."""
        return f"http://{self.gateway}:{PROXY_PORT}"

    def host_addresses(self) -> list[ipaddress.IPv4Address]:
        """Every address a host may get, in order."""
        last = self.subnet.broadcast_address
        first = self.subnet.network_address + FIRST_HOST
        return [ipaddress.IPv4Address(a) for a in range(int(first), int(last))]


def from_env(state_dir: Path | None = None,
             env: Mapping[str, str] | None = None) -> LabConfig:
    """Settings from env ``JSOV_LAB_DIR``, ``_CACHE``, ``_BRIDGE``, ``_SUBNET``."""
    env = os.environ if env is None else env
    bridge = env.get("JSOV_LAB_BRIDGE") or DEFAULT_BRIDGE
    if not _BRIDGE_RE.match(bridge):
        raise UserError(f"JSOV_LAB_BRIDGE={bridge!r} is not a valid interface name",
                        "use up to 15 letters, digits, '-', '_' or '.', e.g. jsov0")
    raw = env.get("JSOV_LAB_SUBNET") or DEFAULT_SUBNET
    try:
        subnet = ipaddress.IPv4Network(raw, strict=True)
    except ValueError as exc:
        raise UserError(f"JSOV_LAB_SUBNET={raw!r} is not an IPv4 network ({exc})",
                        "give a network address with its prefix, e.g. 198.51.100.0/25") from exc
    if subnet.num_addresses < FIRST_HOST + 2:
        raise UserError(f"JSOV_LAB_SUBNET={raw} is too small for lab hosts",
                        "use a /28 or larger (hosts start at the 11th address)")
    return LabConfig(
        state_dir=Path(state_dir or env.get("JSOV_LAB_DIR") or DEFAULT_DIR).absolute(),
        cache_dir=Path(env.get("JSOV_LAB_CACHE") or DEFAULT_CACHE).absolute(),
        bridge=bridge,
        subnet=subnet,
    )


def check_name(name: str) -> str:
    """A host name must be a short DNS label (it is also the machine name)."""
    if not _NAME_RE.match(name):
        raise UserError(f"lab host name {name!r} is not valid",
                        "use a lowercase letter then lowercase letters, digits or '-' "
                        "(at most 31 characters), e.g. --prefix lab")
    return name


def host_names(prefix: str, count: int) -> list[str]:
    """``prefix1`` .. ``prefixN``."""
    if count < 1:
        raise UserError(f"--hosts {count}: at least one host", "use --hosts 1 or more")
    return [check_name(f"{prefix}{i}") for i in range(1, count + 1)]


def allocate(names: Iterable[str], taken: Mapping[str, str],
             config: LabConfig) -> dict[str, str]:
    """Addresses for ``names``: keep ones in ``taken`` (name -> address), else lowest free."""
    used = set(taken.values())
    out: dict[str, str] = {}
    free = (str(a) for a in config.host_addresses() if str(a) not in used)
    for name in names:
        if name in taken:
            out[name] = taken[name]
            continue
        address = next(free, None)
        if address is None:
            raise UserError(f"no address left in {config.subnet} for {name}",
                            "stop some lab hosts (jitsi-sovereign lab down) or use a larger "
                            "JSOV_LAB_SUBNET")
        out[name] = address
    return out


def overlaps(subnet: ipaddress.IPv4Network, bridge: str,
             addresses: Iterable[tuple[str, str]],
             routes: Iterable[tuple[str, str]]) -> list[str]:
    """What on the machine overlaps ``subnet``, other than our own bridge.

    ``addresses`` are (interface, "addr/prefix"); ``routes`` are (device, "dst"), where a
    default route never counts (it covers everything and routes nothing specific).
    """
    found: list[str] = []
    for dev, cidr in addresses:
        if dev == bridge:
            continue
        net = ipaddress.IPv4Interface(cidr).network
        if net.overlaps(subnet):
            found.append(f"address {cidr} on {dev}")
    for dev, dst in routes:
        if dev == bridge or dst in ("default", "0.0.0.0/0"):
            continue
        net = ipaddress.IPv4Network(dst if "/" in dst else f"{dst}/32", strict=False)
        if net.overlaps(subnet):
            found.append(f"route {dst} on {dev}")
    return found
