"""Firewall: the live nftables ruleset against the baseline and what firewall.json promises."""

from __future__ import annotations

import ipaddress
import json

import pytest

from jitsi_sovereign.checks import parsers
from jitsi_sovereign.checks.helpers import promised_ports, run_ok, units

FAMILY, TABLE = "inet", "jitsi_sovereign"


@pytest.fixture(scope="module")
def rules(fw_state, nft) -> list[parsers.AcceptRule]:
    chains = nft.base_chains(FAMILY, TABLE, "input")
    if not chains:
        pytest.fail(f"table {FAMILY} {TABLE} has no input chain", pytrace=False)
    return [r for c in chains for r in parsers.accept_rules(nft, FAMILY, TABLE, c.name)]


def test_service(fw_state, target):
    """nftables.service is enabled (ruleset loaded at boot) and active."""
    unit = units(target, "nftables.service").get("nftables.service", {})
    assert unit.get("UnitFileState") == "enabled", (
        f"nftables.service is {unit.get('UnitFileState') or 'unknown'}, not enabled: "
        "the ruleset would not be loaded at the next boot")
    assert unit.get("ActiveState") == "active", (
        f"nftables.service is {unit.get('ActiveState')}/{unit.get('SubState')}")


def test_table(fw_state, nft):
    """table inet jitsi_sovereign is loaded."""
    assert (FAMILY, TABLE) in nft.tables, (
        f"no table {FAMILY} {TABLE} in the live ruleset (tables: "
        f"{', '.join(f'{f} {t}' for f, t in sorted(nft.tables)) or 'none'})")


@pytest.mark.parametrize("hook", ["input", "forward"])
def test_policy_drop(hook, fw_state, nft):
    """base chain policy is drop."""
    chains = nft.base_chains(FAMILY, TABLE, hook)
    assert chains, f"table {FAMILY} {TABLE} has no {hook} base chain"
    for chain in chains:
        assert chain.policy == "drop", f"chain {chain.name} ({hook}) policy is {chain.policy}"


def test_no_accept_all(fw_state, rules):
    """no rule accepts every port (only established/related, loopback and ICMP may)."""
    wide = [r.text for r in rules if r.opens_everything]
    assert not wide, "rules accepting any port: " + "; ".join(wide)


@pytest.mark.parametrize("proto", ["tcp", "udp"])
def test_open_ports_as_promised(proto, fw_state, rules):
    """ports accepted from outside are exactly the promised ones."""
    promised = promised_ports(fw_state, proto)
    accepted: set[int] = set()
    for r in rules:
        if r.harmless or r.ports is None:
            continue
        if r.protocols is None or proto in r.protocols:
            accepted |= r.ports
    extra, missing = accepted - promised, promised - accepted
    assert not extra, (f"{proto} port(s) open but not promised: "
                       f"{parsers.compress_ports(extra)}")
    assert not missing, (f"{proto} port(s) promised but not open: "
                         f"{parsers.compress_ports(missing)}")


def _networks(cidrs) -> list:
    return [ipaddress.ip_network(str(c), strict=False) for c in cidrs or []]


def _outside(nets, allowed) -> list[str]:
    return [str(n) for n in nets
            if not any(n.version == a.version and n.subnet_of(a) for a in allowed)]


def test_ssh_sources(fw_state, rules):
    """SSH is accepted only from the promised admin networks."""
    port = int(fw_state["ssh_port"])
    admin = _networks(fw_state.get("admin_cidrs"))
    sources = parsers.port_sources(rules, "tcp", port)
    assert sources != [], f"no rule accepts SSH (tcp/{port})"
    if sources is None:
        assert any(n.prefixlen == 0 for n in admin), (
            f"SSH (tcp/{port}) is accepted from any address; promised only "
            f"{', '.join(map(str, admin))}")
        return
    outside = _outside(sources, admin)
    assert not outside, (f"SSH (tcp/{port}) accepted from {', '.join(outside)}, outside "
                         f"the admin networks {', '.join(map(str, admin))}")


def test_restricted_sources(fw_state, rules):
    """other openings limited to sources are accepted only from those sources."""
    checked = 0
    problems = []
    for entry in fw_state.get("open") or []:
        allowed = _networks(entry.get("sources"))
        if entry.get("comment") == "ssh" or any(n.prefixlen == 0 for n in allowed):
            continue
        low, _, high = str(entry["port"]).partition("-")
        for port in {int(low), int(high or low)}:
            checked += 1
            sources = parsers.port_sources(rules, entry["proto"], port)
            if sources is None:
                problems.append(f"{entry['proto']}/{port} accepted from any address")
            elif outside := _outside(sources, allowed):
                problems.append(f"{entry['proto']}/{port} accepted from {', '.join(outside)}")
    if not checked:
        pytest.skip("no opening other than SSH is limited to source networks")
    assert not problems, "; ".join(problems)


def test_persisted(fw_state, target):
    """/etc/nftables.conf holds the table and is valid (loaded at boot)."""
    conf = fw_state.get("config", "/etc/nftables.conf")
    assert conf == "/etc/nftables.conf", (
        f"firewall.json says the ruleset is in {conf}; nftables.service loads /etc/nftables.conf")
    text = run_ok(target, "cat /etc/nftables.conf", what="reading /etc/nftables.conf")
    assert f"table {FAMILY} {TABLE}" in text, f"/etc/nftables.conf has no table {FAMILY} {TABLE}"
    run_ok(target, "nft -c -f /etc/nftables.conf", what="nft -c -f /etc/nftables.conf")


def test_boot_ruleset_equals_live(fw_state, target, nft):
    """the table /etc/nftables.conf loads is the live one (loaded in a scratch namespace)."""
    result = target.run("unshare --net sh -c 'nft -f /etc/nftables.conf && "
                        "nft -j list table inet jitsi_sovereign'")
    if result.rc != 0 and "unshare" in result.stderr:
        pytest.skip("cannot create a scratch network namespace here to load "
                    f"/etc/nftables.conf ({result.stderr.strip().splitlines()[-1]})")
    assert result.rc == 0, f"loading /etc/nftables.conf failed: {result.stderr.strip()}"
    boot = parsers.parse_nft_json(json.loads(result.stdout))
    assert _shape(boot) == _shape(nft), (
        "the live table inet jitsi_sovereign differs from what /etc/nftables.conf loads: "
        "the running firewall would change at the next boot")


def _shape(rs: parsers.NftRuleset) -> list:
    """Chains, policies and rules of our table, without handles and counters."""
    def clean(expr):
        return [e for e in expr if "counter" not in e]

    out = []
    for (family, table, name), chain in sorted(rs.chains.items()):
        if (family, table) != (FAMILY, TABLE):
            continue
        out.append((name, chain.hook, chain.policy,
                    [json.dumps(clean(r.get("expr", [])), sort_keys=True) for r in chain.rules]))
    sets = {k[2]: sorted(json.dumps(e, sort_keys=True) for e in v)
            for k, v in rs.sets.items() if k[:2] == (FAMILY, TABLE)}
    return [out, sets]


def test_keeps_other_tables(fw_state, target):
    """loading, reloading or stopping the firewall never flushes other tables (fail2ban's)."""
    conf = run_ok(target, "cat /etc/nftables.conf", what="reading /etc/nftables.conf")
    flushes = [ln.strip() for ln in conf.splitlines()
               if ln.split("#", 1)[0].split()[:2] == ["flush", "ruleset"]]
    assert not flushes, "/etc/nftables.conf flushes the whole ruleset (fail2ban's bans too)"
    show = run_ok(target, "systemctl show -p ExecStart,ExecReload,ExecStop nftables.service",
                  what="systemctl show nftables.service")
    bad = [ln.split("=", 1)[0] for ln in show.splitlines() if "flush ruleset" in ln]
    assert not bad, (f"nftables.service {', '.join(bad)} flushes the whole ruleset: a restart "
                     "would drop fail2ban's table and its bans")
