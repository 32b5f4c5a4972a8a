"""Parsers for what the checks read on a host. Pure functions, unit-tested without a host."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

# ------------------------------------------------------------------ sshd -T


class SshdConfig(dict[str, list[str]]):
    """``sshd -T`` output: lower-case keyword -> every value it was given, in order."""

    def value(self, key: str) -> str | None:
        values = self.get(key.lower())
        return values[0] if values else None

    def algorithms(self, key: str) -> list[str]:
        """A comma separated algorithm list (``ciphers``, ``kexalgorithms``, ``macs``)."""
        raw = self.value(key) or ""
        return [a for a in raw.split(",") if a]


def parse_sshd_t(text: str) -> SshdConfig:
    """Parse ``sshd -T``: one ``keyword value`` per line, some keywords repeated."""
    config = SshdConfig()
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(" ")
        config.setdefault(key.lower(), []).append(value.strip())
    return config


# ------------------------------------------------------------------ sysctl


def parse_sysctl(text: str) -> dict[str, str]:
    """``sysctl -e KEY...`` output (``key = value``); values with whitespace normalised.

    A key the kernel does not have is absent from the result (``-e`` silences it).
    """
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(" = ")
        if sep:
            out[key.strip()] = " ".join(value.split())
    return out


# ------------------------------------------------------------------ stat / systemctl


@dataclass(frozen=True)
class FileStat:
    path: str
    mode: int
    owner: str
    group: str
    kind: str


def parse_stat(text: str) -> dict[str, FileStat]:
    """``stat -c '%n|%a|%U|%G|%F' PATH...`` -> {path: FileStat}. Missing paths are absent."""
    out: dict[str, FileStat] = {}
    for line in text.splitlines():
        parts = line.rsplit("|", 4)
        if len(parts) != 5:
            continue
        path, mode, owner, group, kind = parts
        out[path] = FileStat(path, int(mode, 8), owner, group, kind)
    return out


def parse_systemctl_show(text: str) -> dict[str, dict[str, str]]:
    """``systemctl show -p Id,... UNIT...``: blocks separated by blank lines, keyed by Id."""
    units: dict[str, dict[str, str]] = {}
    for block in re.split(r"\n\s*\n", text.strip()):
        props = {}
        for line in block.splitlines():
            key, sep, value = line.partition("=")
            if sep:
                props[key] = value
        if props.get("Id"):
            units[props["Id"]] = props
    return units


def parse_ss_listeners(text: str) -> set[int]:
    """Ports of ``ss -Hlun``/``-Hltn`` sockets reachable from outside (not loopback-only).

    Local addresses look like ``0.0.0.0:68``, ``[::]:123``, ``127.0.0.53%lo:53``,
    ``*:5353``.
    """
    ports: set[int] = set()
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        address, _, port = fields[3].rpartition(":")
        if not port.isdigit():
            continue
        address = address.strip("[]").split("%", 1)[0]
        try:
            if ipaddress.ip_address(address).is_loopback:
                continue
        except ValueError:  # "*": every address
            pass
        ports.add(int(port))
    return ports


# ------------------------------------------------------------------ apt / journald


def parse_apt_config_dump(text: str) -> dict[str, list[str]]:
    """``apt-config dump``: ``Key::Path "value";`` lines -> {key: [values]}.

    List items are printed as ``Key:: "value";`` (empty last component): they are
    gathered under ``Key``.
    """
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        m = re.match(r'^(\S+?)(::)?\s+"(.*)";\s*$', line.strip())
        if not m:
            continue
        key = m.group(1)
        out.setdefault(key, []).append(m.group(3))
    return out


def parse_systemd_conf(text: str, section: str) -> dict[str, str]:
    """Effective values of one section in ``systemd-analyze cat-config`` output.

    Files are printed in the order systemd reads them, so the last assignment wins.
    """
    out: dict[str, str] = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            continue
        if current == section and "=" in line:
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


_SPAN_UNITS = {
    "us": 1e-6, "usec": 1e-6, "ms": 1e-3, "msec": 1e-3,
    "s": 1, "sec": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
    "month": 2629800, "months": 2629800, "M": 2629800,
    "y": 31557600, "year": 31557600, "years": 31557600,
}


def parse_timespan(text: str) -> float:
    """A systemd time span (``30day``, ``1h 30min``, ``2week``, bare seconds) in seconds."""
    text = text.strip()
    if not text:
        raise ValueError("empty time span")
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    total = 0.0
    pos = 0
    for m in re.finditer(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)", text):
        if m.start() != pos or m.group(2) not in _SPAN_UNITS:
            raise ValueError(f"not a systemd time span: {text!r}")
        total += float(m.group(1)) * _SPAN_UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text):
        raise ValueError(f"not a systemd time span: {text!r}")
    return total


_SIZE_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4,
               "P": 1024**5, "E": 1024**6}


def parse_size(text: str) -> int:
    """A systemd size (``1G``, ``500M``, ``4096``) in bytes (base 1024, like journald)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGTPE]?)B?\s*", text, re.IGNORECASE)
    if not m:
        raise ValueError(f"not a size: {text!r}")
    return int(float(m.group(1)) * _SIZE_UNITS[m.group(2).upper()])


# ------------------------------------------------------------------ nftables


ANY = None  # "no restriction" for ports or source addresses

_NON_OPENING_CT = {"established", "related"}
_ICMP_PROTOCOLS = {"icmp", "icmpv6", "ipv6-icmp", 1, 58}


@dataclass
class AcceptRule:
    """What one accepting rule (after following jumps) lets in.

    ``ports`` is None when the rule accepts every port (no dport match), else the set of
    destination ports. ``sources`` is None when any source address is accepted, else the
    networks it is limited to. ``protocols`` are the transport protocols matched
    (``tcp``/``udp``); None means any.
    """

    chain: str
    handle: int | None
    protocols: set[str] | None = None
    ports: set[int] | None = ANY
    sources: list[ipaddress.IPv4Network | ipaddress.IPv6Network] | None = ANY
    harmless: str | None = None  # why an accept without a port does not open anything
    text: str = ""

    @property
    def opens_everything(self) -> bool:
        return self.harmless is None and self.ports is None


@dataclass
class NftChain:
    family: str
    table: str
    name: str
    hook: str | None = None
    policy: str | None = None
    type: str | None = None
    rules: list[dict] = field(default_factory=list)


@dataclass
class NftRuleset:
    tables: set[tuple[str, str]] = field(default_factory=set)
    chains: dict[tuple[str, str, str], NftChain] = field(default_factory=dict)
    sets: dict[tuple[str, str, str], list[Any]] = field(default_factory=dict)

    def chain(self, family: str, table: str, name: str) -> NftChain | None:
        return self.chains.get((family, table, name))

    def base_chains(self, family: str, table: str, hook: str) -> list[NftChain]:
        return [c for (f, t, _), c in self.chains.items()
                if f == family and t == table and c.hook == hook]


def parse_nft_json(data: dict) -> NftRuleset:
    """``nft -j list ruleset`` (already ``json.loads``-ed) -> tables, chains, rules, sets."""
    rs = NftRuleset()
    for item in data.get("nftables", []):
        if "table" in item:
            t = item["table"]
            rs.tables.add((t["family"], t["name"]))
        elif "chain" in item:
            c = item["chain"]
            rs.chains[(c["family"], c["table"], c["name"])] = NftChain(
                c["family"], c["table"], c["name"], c.get("hook"), c.get("policy"), c.get("type"))
        elif "set" in item or "map" in item:
            s = item.get("set") or item["map"]
            rs.sets[(s["family"], s["table"], s["name"])] = list(s.get("elem") or [])
    for item in data.get("nftables", []):
        if "rule" in item:
            r = item["rule"]
            chain = rs.chains.get((r["family"], r["table"], r["chain"]))
            if chain is not None:
                chain.rules.append(r)
    return rs


def _elem_value(e: Any) -> Any:
    return e["elem"]["val"] if isinstance(e, dict) and "elem" in e else e


def _resolve(value: Any, rs: NftRuleset, family: str, table: str) -> list[Any]:
    """A match's right-hand side as a flat list (sets and named sets expanded)."""
    if isinstance(value, str) and value.startswith("@"):
        return [_elem_value(e) for e in rs.sets.get((family, table, value[1:]), [])]
    if isinstance(value, dict) and "set" in value:
        return [_elem_value(e) for e in value["set"]]
    if isinstance(value, list):
        return [_elem_value(e) for e in value]
    return [value]


def _ports(values: list[Any]) -> set[int]:
    ports: set[int] = set()
    for v in values:
        if isinstance(v, dict) and "range" in v:
            lo, hi = v["range"]
            ports.update(range(int(lo), int(hi) + 1))
        else:
            ports.add(int(v))
    return ports


def _networks(values: list[Any]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for v in values:
        if isinstance(v, dict) and "prefix" in v:
            nets.append(ipaddress.ip_network(f"{v['prefix']['addr']}/{v['prefix']['len']}",
                                             strict=False))
        elif isinstance(v, dict) and "range" in v:
            lo, hi = (ipaddress.ip_address(x) for x in v["range"])
            nets.extend(ipaddress.summarize_address_range(lo, hi))
        else:
            nets.append(ipaddress.ip_network(str(v), strict=False))
    return nets


@dataclass
class _Cond:
    protocols: set[str] | None = None
    ports: set[int] | None = None
    sources: list | None = None
    harmless: str | None = None
    unknown: list[str] = field(default_factory=list)


def _rule_conditions(expr: list[dict], rs: NftRuleset, family: str, table: str) -> _Cond:
    cond = _Cond()
    for e in expr:
        m = e.get("match")
        if not m:
            continue
        op = m.get("op", "==")
        left, right = m.get("left", {}), m.get("right")
        values = _resolve(right, rs, family, table)
        negated = op == "!="
        if "payload" in left:
            proto, fld = left["payload"].get("protocol"), left["payload"].get("field")
            if fld == "dport" and proto in ("tcp", "udp", "th"):
                if not negated:
                    cond.ports = _ports(values)
                if proto != "th":
                    cond.protocols = {proto}
            elif fld == "saddr" and proto in ("ip", "ip6") and not negated:
                nets = _networks(values)
                cond.sources = (cond.sources or []) + nets
            elif fld in ("protocol", "nexthdr") and not negated:
                if set(values) <= _ICMP_PROTOCOLS:
                    cond.harmless = "ICMP"
                else:
                    cond.protocols = {str(v) for v in values}
            elif proto in ("icmp", "icmpv6") and not negated:
                cond.harmless = "ICMP"
            else:
                cond.unknown.append(f"{proto} {fld} {op} {right}")
        elif "meta" in left:
            key = left["meta"].get("key")
            if key == "l4proto" and not negated:
                if set(values) <= _ICMP_PROTOCOLS:
                    cond.harmless = "ICMP"
                else:
                    cond.protocols = {str(v) for v in values}
            elif key in ("iifname", "iif") and not negated and set(values) == {"lo"}:
                cond.harmless = "loopback interface"
            else:
                cond.unknown.append(f"meta {key} {op} {right}")
        elif "ct" in left and left["ct"].get("key") == "state":
            states = {str(v) for v in values}
            if not negated and states <= _NON_OPENING_CT:
                cond.harmless = "established/related connections"
        else:
            cond.unknown.append(f"{left} {op} {right}")
    return cond


def accept_rules(rs: NftRuleset, family: str, table: str, chain: str,
                 _inherited: _Cond | None = None, _depth: int = 0) -> list[AcceptRule]:
    """Every rule of a chain that ends in ``accept`` (jumps and gotos followed)."""
    c = rs.chain(family, table, chain)
    if c is None or _depth > 16:
        return []
    out: list[AcceptRule] = []
    for rule in c.rules:
        expr = rule.get("expr") or []
        cond = _rule_conditions(expr, rs, family, table)
        if _inherited is not None:
            cond = _merge(_inherited, cond)
        for e in expr:
            if "accept" in e:
                out.append(AcceptRule(chain, rule.get("handle"), cond.protocols, cond.ports,
                                      cond.sources, cond.harmless, _describe(rule)))
            for kw in ("jump", "goto"):
                if kw in e:
                    out.extend(accept_rules(rs, family, table, e[kw]["target"], cond,
                                            _depth + 1))
            if "vmap" in e:
                out.extend(_vmap_rules(e["vmap"], cond, rule, rs, family, table, chain, _depth))
    return out


def _vmap_rules(vmap: dict, cond: _Cond, rule: dict, rs: NftRuleset, family: str, table: str,
                chain: str, depth: int) -> list[AcceptRule]:
    """A verdict map (``tcp dport vmap { 22 : accept, 80 : jump web }``), element by element.

    Each element is read as the rule ``<key> == <element> <verdict>``.
    """
    key = vmap.get("key", {})
    out: list[AcceptRule] = []
    for item in _resolve(vmap.get("data"), rs, family, table):
        if not (isinstance(item, list | tuple) and len(item) == 2):
            continue
        value, verdict = item
        match = [{"match": {"op": "==", "left": key, "right": value}}]
        elem_cond = _merge(cond, _rule_conditions(match, rs, family, table))
        if isinstance(verdict, dict) and "accept" in verdict:
            out.append(AcceptRule(chain, rule.get("handle"), elem_cond.protocols,
                                  elem_cond.ports, elem_cond.sources, elem_cond.harmless,
                                  _describe(rule) + f" (vmap element {value})"))
        for kw in ("jump", "goto"):
            if isinstance(verdict, dict) and kw in verdict:
                out.extend(accept_rules(rs, family, table, verdict[kw]["target"], elem_cond,
                                        depth + 1))
    return out


def _merge(outer: _Cond, inner: _Cond) -> _Cond:
    def pick(a, b):
        if a is None:
            return b
        if b is None:
            return a
        return a & b if isinstance(a, set) else [n for n in b if any(n.overlaps(o) for o in a)]

    return _Cond(protocols=pick(outer.protocols, inner.protocols),
                 ports=pick(outer.ports, inner.ports),
                 sources=pick(outer.sources, inner.sources),
                 harmless=outer.harmless or inner.harmless,
                 unknown=outer.unknown + inner.unknown)


def _describe(rule: dict) -> str:
    return f"chain {rule.get('chain')} handle {rule.get('handle')}"


def open_ports(rules: list[AcceptRule]) -> dict[str, set[int]]:
    """{"tcp": ports, "udp": ports} accepted from ANY source address."""
    out: dict[str, set[int]] = {"tcp": set(), "udp": set()}
    for r in rules:
        if r.harmless or r.sources is not None or r.ports is None:
            continue
        for proto in r.protocols or {"tcp", "udp"}:
            if proto in out:
                out[proto] |= r.ports
    return out


def port_sources(rules: list[AcceptRule], proto: str, port: int) -> list | None:
    """Networks from which ``proto/port`` is accepted (None = from anywhere, [] = never)."""
    nets: list = []
    for r in rules:
        if r.harmless or (r.protocols is not None and proto not in r.protocols):
            continue
        if r.ports is not None and port not in r.ports:
            continue
        if r.sources is None:
            return None
        nets.extend(r.sources)
    return nets


def compress_ports(ports: set[int]) -> str:
    """{22, 80, 10000, 10001, 10002} -> '22, 80, 10000-10002' (for messages)."""
    runs: list[list[int]] = []
    for p in sorted(ports):
        if runs and runs[-1][1] == p - 1:
            runs[-1][1] = p
        else:
            runs.append([p, p])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs) if runs else "none"


# ------------------------------------------------------------------ journald matches


def journal_match_covers(match: str, fields: dict[str, str]) -> bool:
    """Whether a journal entry with ``fields`` passes a journalctl-style match.

    journald semantics (journalctl(1)): ``+`` separates alternatives (OR); inside one
    alternative, terms of the same field are alternatives and terms of different fields
    must all hold (AND). An empty match lets everything through.
    """
    groups: list[list[str]] = [[]]
    for word in match.split():
        if word == "+":
            groups.append([])
        else:
            groups[-1].append(word)
    groups = [g for g in groups if g]
    if not groups:
        return True
    for group in groups:
        wanted: dict[str, set[str]] = {}
        for term in group:
            key, _, value = term.partition("=")
            wanted.setdefault(key, set()).add(value)
        if all(fields.get(key) in values for key, values in wanted.items()):
            return True
    return False


# ------------------------------------------------------------------ ANSSI BP-028 base items


def parse_login_defs(text: str) -> dict[str, str]:
    """/etc/login.defs: ``KEY VALUE`` lines (comments and blank lines skipped); a key given
    twice keeps its last value, as the shadow tools do."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 1)
        if len(parts) == 2:
            values[parts[0]] = parts[1].strip()
    return values


# crypt(5) prefixes: what each stored password hash is. Weak: DES, MD5 (ANSSI BP-028 R68).
HASH_SCHEMES = {"y": "yescrypt", "gy": "gost-yescrypt", "7": "scrypt", "2b": "bcrypt",
                "2y": "bcrypt", "2a": "bcrypt", "6": "sha512crypt", "5": "sha256crypt",
                "1": "md5crypt"}
WEAK_SCHEMES = {"md5crypt", "descrypt", "empty"}


def hash_scheme(head: str, length: int) -> str:
    """The scheme of an /etc/shadow password field from its first characters and its length
    (the hash itself never has to leave the host): ``locked`` for "!..."/"*" (no password
    login), ``empty`` for no password at all."""
    if length == 0:
        return "empty"
    if head.startswith(("!", "*")):
        return "locked"
    if head.startswith("$"):
        prefix = head[1:].split("$", 1)[0]
        return HASH_SCHEMES.get(prefix, f"unknown (${prefix}$)")
    return "descrypt" if length == 13 else "unknown"


def pam_unix_password_options(text: str) -> list[str] | None:
    """The options of the ``password ... pam_unix.so`` line of /etc/pam.d/common-password,
    None when there is no such line."""
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) < 3 or fields[0] != "password":
            continue
        # the control field may be a [bracketed list with spaces]
        rest = " ".join(fields[1:])
        rest = rest.split("]", 1)[-1] if rest.startswith("[") else rest.split(None, 1)[-1]
        words = rest.split()
        if words and words[0].endswith("pam_unix.so"):
            return words[1:]
    return None
