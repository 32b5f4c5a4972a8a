"""plan, create (with cleanup on failure), status and destroy, for any provider.

`plan` makes no network call: it reads the firewall role (the security group), the
region allow-list and the provider's class attributes. `create` records each resource in
the state file right after the provider made it; on any failure (an API error, a crash,
SSH never answering, Ctrl-C) it deletes what the state lists, in reverse order, then
reports the error.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jitsi_sovereign.cloud import cloudinit, regions
from jitsi_sovereign.cloud.model import CreateRequest, Region, Resource, Rule, Server, merge_rules
from jitsi_sovereign.cloud.provider import DnsProvider, Provider, provider_class
from jitsi_sovereign.cloud.rules import security_group_rules
from jitsi_sovereign.cloud.state import FILENAME, State
from jitsi_sovereign.errors import UserError, ValidationErrors

Echo = Callable[[str], None]


@dataclass
class Plan:
    provider: str
    region: Region
    name: str
    domain: str
    size: str
    login_user: str
    dns: str
    rules: list[Rule]
    cloud_init: str
    resources: list[tuple[str, str]]
    login_note: str = ""

    def describe(self) -> list[str]:
        lines = [f"provider {self.provider}, region {self.region}",
                 f"  jurisdiction: {self.region.jurisdiction}",
                 f"name {self.name}, domain {self.domain}, size {self.size}",
                 "resources, in creation order (each tagged jitsi-sovereign="
                 f"{self.name}):"]
        lines += [f"  {i}. {kind}: {what}" for i, (kind, what) in
                  enumerate(self.resources, 1)]
        if self.dns != "none":
            lines.append(f"  {len(self.resources) + 1}. dns_record: A {self.domain} "
                         f"at {self.dns}")
        else:
            lines.append(f"  (no DNS provider: you create the A record of {self.domain}, and "
                         "AAAA where the VM gets an IPv6 address)")
        lines.append("security group: inbound drop by default, only these openings "
                     "(from the firewall role):")
        lines += [f"  {r}" for r in self.rules]
        lines.append(f"login: {self.login_user} with your key, sudo without password, no "
                     "password, root without key" + (f" ({self.login_note})"
                                                      if self.login_note else ""))
        lines.append("cloud-init user-data:")
        lines += [f"  | {line}" for line in self.cloud_init.splitlines()]
        return lines


def plan(req: CreateRequest) -> Plan:
    """The plan of `req`; no network call."""
    region = regions.region(req.provider, req.region)
    cls = provider_class(req.provider)
    rules = security_group_rules(req.admin_cidrs, req.firewall_vars)
    if hasattr(cls, "group_rules"):     # what the provider's group can hold (no IPv6...)
        rules = cls.group_rules(rules)
    return Plan(provider=req.provider, region=region, name=req.name, domain=req.domain,
                size=req.size or cls.default_size, login_user=req.login_user, dns=req.dns,
                rules=rules,
                cloud_init=cloudinit.user_data(req.login_user, req.ssh_public_key),
                resources=cls.plan_resources(req), login_note=cls.login_note)


# ---- waits ---------------------------------------------------------------------------

def ssh_banner(host: str, port: int = 22, timeout: float = 5.0) -> str | None:
    """The SSH server's identification line, or None when nothing answers yet."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            data = sock.recv(256)
    except OSError:
        return None
    line = data.split(b"\n", 1)[0].decode("ascii", "replace").strip()
    return line if line.startswith("SSH-") else None


def resolves_to(name: str) -> set[str]:
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return set()
    return {info[4][0] for info in infos}


@dataclass
class Waits:
    """How create waits (bounded); tests replace the functions and shorten the times."""

    ssh_port: int = 22
    ssh_timeout: float = 600.0
    dns_timeout: float = 600.0
    interval: float = 5.0
    banner: Callable[[str, int], str | None] = ssh_banner
    resolve: Callable[[str], set[str]] = resolves_to
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


def _until(waits: Waits, timeout: float, probe: Callable[[], Any]) -> Any:
    deadline = waits.clock() + timeout
    while True:
        found = probe()
        if found or waits.clock() >= deadline:
            return found
        waits.sleep(waits.interval)


# ---- create ---------------------------------------------------------------------------

@dataclass
class Result:
    state: State
    server: Server
    inventory: Path | None
    warnings: list[str] = field(default_factory=list)


def inventory_settings(req: CreateRequest, plan_: Plan, server: Server | None = None):
    """What the inventory says (initinv, the writer `init` uses too): the VM's address and
    login, the admin networks, the hosting facts of the report (provider, region, country,
    jurisdiction, certification); behind 1:1 NAT both addresses. Without `server` a
    documentation address stands in, to check everything else before any call."""
    from jitsi_sovereign.initinv import InventorySettings

    region = plan_.region
    hosting = {"provider": regions.PROVIDER_NAMES.get(req.provider, req.provider),
               "region": f"{region.code} ({region.city})", "country": "France",
               "jurisdiction": region.jurisdiction.split(" / ")[0]}
    if region.certification:
        hosting["certification"] = region.certification
    public = server.public_ipv4 if server else "192.0.2.1"
    private = server.private_ipv4 if server else None
    nat = bool(private and private != public and ipaddress.ip_address(private).is_private)
    return InventorySettings(domain=req.domain, host=public, key=req.ssh_key_path,
                             user=req.login_user, admin_cidrs=list(req.admin_cidrs),
                             hosting=hosting, private_ip=private if nat else None,
                             public_ip=public if nat else None)


def _write_inventory(out_dir: Path, req: CreateRequest, plan_: Plan, server: Server) -> Path:
    """hosts.yml and group_vars/all.yml next to the state file (initinv.write_inventory)."""
    from jitsi_sovereign.initinv import HOSTS_FILE, write_inventory

    write_inventory(inventory_settings(req, plan_, server), out_dir, force=True)
    return out_dir / HOSTS_FILE


def _cleanup(provider: Provider, dns: DnsProvider | None, state: State,
             echo: Echo) -> list[str]:
    """Delete what the state lists, last first; the problems met (the state keeps those)."""
    problems = []
    for res in reversed(list(state.resources)):
        try:
            (dns if res.kind == "dns_record" and dns is not None else provider).delete(res)
        except Exception as exc:
            problems.append(f"{res.kind} {res.id}: {exc}")
            echo(f"  could not delete {res.kind} {res.id}: {exc}")
            continue
        echo(f"  deleted {res.kind} {res.id}")
        state.forget(res)
    return problems


def state_path(out_dir: Path) -> Path:
    return Path(out_dir) / FILENAME


def create(provider: Provider, req: CreateRequest, out_dir: Path, *,
           dns: DnsProvider | None = None, waits: Waits | None = None,
           echo: Echo = print) -> Result:
    waits = waits or Waits()
    out_dir = Path(out_dir)
    regions.region(req.provider, req.region)
    path = state_path(out_dir)
    if path.exists():
        old = State.load(path)
        if old.resources:
            raise UserError(f"{path} already lists {len(old.resources)} resource(s) "
                            f"of {old.name}",
                            f"jitsi-sovereign cloud destroy --state {path}, or another --out")
    from jitsi_sovereign.initinv import HOSTS_FILE, validate_settings

    if (out_dir / HOSTS_FILE).exists():
        raise UserError(f"{out_dir} already holds an inventory ({HOSTS_FILE})",
                        "give another --out directory for this VM")
    plan_ = plan(req)
    # The inventory's settings first (the key, the admin networks...): no call is made
    # for a VM whose inventory could not be written.
    problems = validate_settings(inventory_settings(req, plan_))
    problems += provider.check(req) + (dns.check(req) if dns else [])
    if problems:
        raise ValidationErrors(problems)
    state = State(path=path, provider=req.provider, region=req.region, name=req.name,
                  domain=req.domain, dns=req.dns, rules=plan_.rules)
    state.save()
    warnings: list[str] = []

    def record(res: Resource) -> None:
        state.record(res)
        echo(f"  created {res.kind} {res.id}")

    try:
        server = provider.create(req, plan_, record)
        state.server = server.to_dict()
        state.save()
        if not server.public_ipv4:
            raise UserError("the server has no public IPv4 address")
        if dns is not None:
            record(dns.create_record(req, server))
        echo(f"waiting for SSH on {server.public_ipv4}:{waits.ssh_port} "
             f"(at most {waits.ssh_timeout:.0f} s)")
        banner = _until(waits, waits.ssh_timeout,
                        lambda: waits.banner(server.public_ipv4, waits.ssh_port))
        if not banner:
            raise UserError(f"SSH did not answer on {server.public_ipv4}:{waits.ssh_port} "
                            f"within {waits.ssh_timeout:.0f} s",
                            "retry later; the provider's console shows the VM's boot log")
        echo(f"  {banner}")
        want = {a for a in (server.public_ipv4, server.public_ipv6) if a}
        if dns is None:
            echo(f"create the DNS records now: {req.domain} A {server.public_ipv4}"
                 + (f" and AAAA {server.public_ipv6}" if server.public_ipv6 else "")
                 + f" (waiting at most {waits.dns_timeout:.0f} s for them to resolve)")
        else:
            echo(f"waiting for {req.domain} to resolve to {server.public_ipv4} "
                 f"(at most {waits.dns_timeout:.0f} s)")
        found = _until(waits, waits.dns_timeout,
                       lambda: server.public_ipv4 in waits.resolve(req.domain))
        if not found:
            got = waits.resolve(req.domain) - want
            warnings.append(
                f"{req.domain} does not resolve to {server.public_ipv4} yet"
                + (f" (it gives {', '.join(sorted(got))})" if got else "")
                + ": wait until it does before deploy, or Let's Encrypt will refuse the "
                  "certificate (the VM is kept)")
        inventory = _write_inventory(out_dir, req, plan_, server)
        state.inventory = str(inventory)
        state.status = "created"
        state.save()
        return Result(state=state, server=server, inventory=inventory, warnings=warnings)
    except BaseException as exc:
        echo(f"create failed ({type(exc).__name__}): removing what was created, last first")
        left = _cleanup(provider, dns, state, echo)
        state.status = "failed"
        state.save()
        if left:
            raise UserError(f"create failed: {exc}; and {len(left)} resource(s) could not be "
                            f"deleted: {'; '.join(left)}",
                            f"jitsi-sovereign cloud destroy --state {path}") from exc
        if isinstance(exc, UserError):
            raise
        if isinstance(exc, Exception):
            raise UserError(f"create failed: {exc}",
                            "nothing is left at the provider (every created resource "
                            "was deleted); fix the cause and run create again") from exc
        raise


# ---- destroy / status -----------------------------------------------------------------

def destroy(provider: Provider, state: State, *, dns: DnsProvider | None = None,
            echo: Echo = print) -> list[Resource]:
    """Delete exactly what the state lists, last first (already gone is fine), then the
    residue check by tag: what is still tagged with the name (empty when all is gone)."""
    left = _cleanup(provider, dns, state, echo)
    if left:
        state.save()
        raise UserError(f"{len(left)} resource(s) could not be deleted: {'; '.join(left)}",
                        f"run destroy again (--state {state.path})")
    state.status = "destroyed"
    state.save()
    return provider.residue(state.name)


def _atoms(rules: list[Rule]) -> list[Rule]:
    return sorted({Rule(r.proto, r.port_from, r.port_to, (s,)) for r in rules
                   for s in r.sources})


def status(provider: Provider, state: State, *, dns: DnsProvider | None = None) -> dict:
    """The live server, rules and groups compared with the plan's; findings listed."""
    live = provider.status(state)
    want = merge_rules(state.rules)
    have = merge_rules(live.get("rules") or [])
    ours = [r.id for r in state.resources if r.kind == "security_group"]
    extra_groups = [g for g in live.get("groups") or [] if g not in ours]
    # Compared source by source: one finding names the one network too many or missing.
    want_atoms, have_atoms = _atoms(want), _atoms(have)
    findings = [f"missing rule: {r}" for r in want_atoms if r not in have_atoms]
    findings += [f"extra rule: {r}" for r in have_atoms if r not in want_atoms]
    findings += [f"extra security group attached: {g}" for g in extra_groups]
    findings += list(live.get("findings") or [])   # the provider's own (e.g. a policy)
    if live.get("server") is None:
        findings.append("the server is gone")
    out = {"server": live.get("server"), "rules": [r.to_dict() for r in have],
           "groups": live.get("groups") or [], "findings": findings}
    if dns is not None:
        out["dns"] = [dns.status(r) for r in state.resources if r.kind == "dns_record"]
    return out
