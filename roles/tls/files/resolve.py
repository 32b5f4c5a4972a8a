"""Where the certificate's names point, seen from this machine (tls preflight, acme mode).

Run on the controller (lookup jitsi_sovereign.core.controller_probe), which sees public DNS
like the ACME server, then on the host (jitsi_sovereign.core.probe) with the controller's
answer. Read-only.

argv[1]: JSON {"names": [...]}; on the host also "controller" (the controller's "resolved")
and "mine" (more addresses of this host: its ansible_host, for a VM behind 1:1 NAT).

Prints JSON:
  resolved   {name: [addresses]}: getaddrinfo (/etc/hosts then DNS, like `getent ahosts`)
             without loopback answers (Debian's "127.0.1.1 <fqdn>" says nothing about DNS)
  addresses  this machine's global addresses (ip -j address show)
and on the host:
  mine       addresses + "mine"
  elsewhere  one sentence per name that resolves, from the host and from the controller,
             to none of mine (the ACME server could not reach this host by that name)
  nat        {private, public, domain} when this VM looks behind 1:1 NAT, else {}
"""

from __future__ import annotations

import ipaddress
import json
import socket
import subprocess
import sys

# RFC 1918 and carrier-grade NAT (100.64.0.0/10).
PRIVATE_V4 = [ipaddress.ip_network(net) for net in
              ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")]


def resolve(name: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return []
    addrs = sorted({info[4][0].split("%")[0] for info in infos})
    return [a for a in addrs if not ipaddress.ip_address(a).is_loopback]


def global_addresses() -> list[str]:
    try:
        out = subprocess.run(["ip", "-j", "address", "show"], capture_output=True, text=True,
                             check=False).stdout
        links = json.loads(out or "[]")
    except (OSError, ValueError):
        return []
    return sorted({a["local"] for link in links for a in link.get("addr_info", [])
                   if "local" in a and a.get("scope") == "global"})


def _v4(addrs: list[str]) -> list[str]:
    out = []
    for a in addrs:
        try:
            if ipaddress.ip_address(a).version == 4 and a not in out:
                out.append(a)
        except ValueError:
            pass
    return out


def _private(addr: str) -> bool:
    return any(ipaddress.ip_address(addr) in net for net in PRIVATE_V4)


def undeclared_nat(name: str, own: list[str], seen: list[str]) -> dict:
    """1:1 NAT (issue 10, D13): the host's interfaces hold only private IPv4 addresses, the
    name resolves to IPv4 addresses none of which is on the host, one of them public. The
    bridge would then advertise its private address (its only STUN server, the deployment's
    own coturn, answers only where the provider hairpins), and media fails. The preflight
    reports it unless jitsi_sovereign_public_ip is set."""
    own4, seen4 = _v4(own), _v4(seen)
    public = [a for a in seen4 if not _private(a)]
    if own4 and all(map(_private, own4)) and public and not set(seen4) & set(own4):
        return {"private": own4[0], "public": public[0], "domain": name}
    return {}


def _said(addrs: list[str]) -> str:
    return ", ".join(addrs) or "nothing"


def findings(names: list[str], resolved: dict, controller: dict, mine: list[str]) -> list[str]:
    """A sentence for each name that resolves to none of `mine`, from here or the controller."""
    out = []
    for name in names:
        here, there = resolved.get(name, []), controller.get(name, [])
        both = list(dict.fromkeys(here + there))
        if not set(both) & set(mine):
            out.append(f"{name} resolves to {_said(both)} (from the host: {_said(here)}; "
                       f"from the controller: {_said(there)}).")
    return out


def main(request: dict) -> dict:
    names = request["names"]
    resolved = {name: resolve(name) for name in names}
    answer = {"resolved": resolved, "addresses": global_addresses()}
    if "controller" in request:
        controller = request["controller"]
        mine = list(dict.fromkeys(answer["addresses"] + request.get("mine", [])))
        first = names[0] if names else ""
        answer.update(
            mine=mine, elsewhere=findings(names, resolved, controller, mine),
            nat=undeclared_nat(first, answer["addresses"],
                               resolved.get(first, []) + controller.get(first, [])))
    return answer


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
