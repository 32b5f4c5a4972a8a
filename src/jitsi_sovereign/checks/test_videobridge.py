"""Jitsi Videobridge (role videobridge): its configuration and its service.

/etc/jitsi/videobridge/jvb.conf is read from the host (as root: it holds jvb's
password, which no message ever shows) and parsed with the same pyhocon reader the role
used before writing it (``confcheck/hocon.py``). Key by key: XMPP to prosody on
127.0.0.1 and the brewery MUC, private and public HTTP servers on loopback, no COLIBRI
REST API, STUN only on the deployment's own domain (never Jitsi's relay, the package's
default), the NAT mapping videobridge.json records, the media port the firewall opens,
every key the role promised; sip-communicator.properties (read before jvb.conf) sets
no property; jvb.conf is readable by the jvb user only. The service checks (bridge
active, 8080/9090 on loopback only, UDP 10000 bound) need Jitsi's packages: skipped
with jitsi_packages.json's reason when they are not installed. Skipped as a whole when
the inventory gives the host no domain.
"""

from __future__ import annotations

import ipaddress

import pytest

from jitsi_sovereign.checks.helpers import (
    LOOPBACK,
    THIRD_PARTY,
    assert_jitsi_service_active,
    assert_private_file,
    assert_promised_keys,
    domain_of,
    jitsi_service_skip,
    listeners,
    promised_ports,
    read_hocon,
    require_state,
    require_web_state,
)
from jitsi_sovereign.confcheck import hocon

CONF = "/etc/jitsi/videobridge/jvb.conf"
PROPERTIES = "/etc/jitsi/videobridge/sip-communicator.properties"
XMPP_CONFIGS = "videobridge.apis.xmpp-client.configs"


@pytest.fixture(scope="module")
def jvb_state(target) -> dict:
    return require_web_state(target, "videobridge")


@pytest.fixture(scope="module")
def jvb_tree(target, jvb_state) -> dict:
    return read_hocon(target, jvb_state.get("conf") or CONF)


def _value(tree: dict, path: str):
    return hocon.get(tree, path, hocon.MISSING)


def _xmpp_configs(tree: dict) -> dict[str, dict]:
    configs = _value(tree, XMPP_CONFIGS)
    if not isinstance(configs, dict) or not configs:
        pytest.fail(f"jvb.conf has no {XMPP_CONFIGS} entry: the bridge would not join the brewery",
                    pytrace=False)
    return configs


def test_parses(jvb_tree):
    """jvb.conf is valid HOCON (pyhocon) with a videobridge block."""
    assert isinstance(jvb_tree.get("videobridge"), dict), "jvb.conf has no videobridge { } block"


def test_promised_keys(jvb_tree, jvb_state):
    """every key videobridge.json promises has its value in jvb.conf."""
    assert_promised_keys(jvb_tree, jvb_state, "videobridge")


def test_xmpp_to_loopback(jvb_tree, target):
    """each XMPP connection: 127.0.0.1, jvb@auth.<domain>, brewery jvbbrewery@internal.auth.<d>."""
    domain = domain_of(target, "videobridge")
    wrong = []
    for name, conf in _xmpp_configs(jvb_tree).items():
        # MucClientConfiguration reads its keys case-insensitively.
        conf = {str(k).upper(): v for k, v in conf.items()}
        want = {"HOSTNAME": "127.0.0.1", "DOMAIN": f"auth.{domain}", "USERNAME": "jvb",
                "MUC_JIDS": f"jvbbrewery@internal.auth.{domain}"}
        for key, value in want.items():
            have = conf.get(key, hocon.MISSING)
            if key == "MUC_JIDS" and isinstance(have, str):
                have = have.lower()
            if have != value:
                wrong.append(f"{XMPP_CONFIGS}.{name}.{key} is {hocon.shown(key, have)}, "
                             f"expected {value!r}")
        if conf.get("PASSWORD") in (None, ""):
            wrong.append(f"{XMPP_CONFIGS}.{name}.PASSWORD is missing or empty")
        if not conf.get("MUC_NICKNAME"):
            wrong.append(f"{XMPP_CONFIGS}.{name}.MUC_NICKNAME is missing")
    assert not wrong, "; ".join(wrong)


@pytest.mark.parametrize("server", ["private", "public"])
def test_http_server_on_loopback(jvb_tree, jvb_state, server):
    """the bridge's HTTP server is bound to a loopback address."""
    host = _value(jvb_tree, f"videobridge.http-servers.{server}.host")
    assert host in LOOPBACK, (
        f"videobridge.http-servers.{server}.host is {hocon.shown('host', host)}: loopback only")
    port = _value(jvb_tree, f"videobridge.http-servers.{server}.port")
    want = int((jvb_state.get(f"{server}_http") or {}).get("port") or 0)
    assert port == want, f"videobridge.http-servers.{server}.port is {port!r}, expected {want}"


def test_colibri_rest_off(jvb_tree):
    """the COLIBRI REST API is off (jicofo drives the bridge over XMPP)."""
    assert _value(jvb_tree, "videobridge.apis.rest.enabled") is not True, (
        "videobridge.apis.rest.enabled is true")


def test_websockets(jvb_tree, target):
    """colibri websockets are advertised as wss on the meeting domain."""
    domain = domain_of(target, "videobridge")
    ws_domain = _value(jvb_tree, "videobridge.websockets.domain")
    assert _value(jvb_tree, "videobridge.websockets.enabled") is True, "websockets are off"
    assert _value(jvb_tree, "videobridge.websockets.tls") is True, "websockets are not wss"
    assert isinstance(ws_domain, str) and ws_domain.split(":")[0] == domain, (
        f"videobridge.websockets.domain is {ws_domain!r}, expected {domain!r}")


def _own_host(host: str, domain: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        host = host.lower().rstrip(".")
        return host == domain or host.endswith("." + domain)


def test_stun_own_server_only(jvb_tree, jvb_state, target):
    """STUN mapping goes to the deployment's own domain only (never Jitsi's relay)."""
    domain = domain_of(target, "videobridge").lower()
    addresses = _value(jvb_tree, "ice4j.harvest.mapping.stun.addresses")
    assert isinstance(addresses, list) and addresses, (
        "ice4j.harvest.mapping.stun.addresses is empty: the bridge may miss its public address")
    foreign = [a for a in addresses if not _own_host(str(a).rpartition(":")[0], domain)]
    assert not foreign, f"STUN addresses outside {domain}: {', '.join(map(str, foreign))}"
    assert addresses == jvb_state.get("stun_addresses"), (
        f"STUN addresses {addresses}, videobridge.json says {jvb_state.get('stun_addresses')}")
    assert _value(jvb_tree, "ice4j.harvest.mapping.aws.enabled") is False, (
        "the AWS harvester is on: it asks the cloud metadata service for the public address")


def test_no_third_party(jvb_tree):
    """no key or value of jvb.conf names Jitsi's (8x8's) servers."""
    found = hocon.find_strings(jvb_tree, THIRD_PARTY)
    assert not found, f"{', '.join(found)} name a third party's server"


def test_properties_set_nothing(target, jvb_state):
    """sip-communicator.properties (read before jvb.conf) sets nothing, names no Jitsi server."""
    path = jvb_state.get("properties") or PROPERTIES
    result = target.run("if test -e %s; then cat %s; fi; true", path, path)
    active = [line.split("=", 1)[0].split(":", 1)[0].strip() for line in result.stdout.splitlines()
              if line.strip() and not line.lstrip().startswith(("#", "!"))]
    assert not active, f"{path} sets {', '.join(active)}: it would win over jvb.conf"
    relay = [line for line in result.stdout.splitlines()
             if any(t in line.lower() for t in THIRD_PARTY)]
    assert not relay, f"{path} names a Jitsi server: {relay[0].strip()}"


def test_nat_mapping(jvb_tree, jvb_state):
    """the static NAT mapping is the pair videobridge.json records (none without NAT)."""
    mappings = _value(jvb_tree, "ice4j.harvest.mapping.static-mappings")
    mappings = [] if mappings in (hocon.MISSING, None) else mappings
    nat = jvb_state.get("nat")
    if not nat:
        assert mappings == [], f"no NAT promised, but jvb.conf maps {mappings}"
        return
    pairs = [(m.get("local-address"), m.get("public-address")) for m in mappings]
    assert pairs == [(nat["private_ip"], nat["public_ip"])], (
        f"static mappings {pairs}, expected [({nat['private_ip']!r}, {nat['public_ip']!r})]")


def test_media_port_open(jvb_tree, jvb_state, target):
    """the bridge's UDP port is the one the firewall opens to everyone."""
    port = _value(jvb_tree, "videobridge.ice.udp.port")
    assert port == jvb_state.get("udp_port"), (
        f"videobridge.ice.udp.port is {port!r}, videobridge.json says {jvb_state.get('udp_port')}")
    firewall = require_state(target, "firewall")
    assert port in promised_ports(firewall, "udp", public_only=True), (
        f"the firewall does not open UDP {port} to everyone (firewall.json): no media would arrive")


def test_file_private(target, jvb_state):
    """jvb.conf (a password) has the owner and mode videobridge.json records, no world access."""
    assert_private_file(target, jvb_state, CONF, "videobridge", "jicofo")


def test_service_active(target, jvb_state):
    """jitsi-videobridge2 is enabled and running."""
    assert_jitsi_service_active(target, jvb_state, "jitsi-videobridge2.service")


@pytest.mark.parametrize("server", ["private", "public"])
def test_http_listens_on_loopback_only(target, jvb_state, server):
    """the bridge's HTTP port (8080 private, 9090 public) listens, on loopback only."""
    jitsi_service_skip(target, jvb_state, "jitsi-videobridge2")
    port = int((jvb_state.get(f"{server}_http") or {}).get("port") or 0)
    addresses = listeners(target, "t").get(port, set())
    assert addresses, f"nothing listens on TCP {port}: is the bridge running?"
    public = sorted(a for a in addresses if a not in LOOPBACK)
    assert not public, f"TCP {port} listens on {', '.join(public)}: loopback only"


def test_media_port_bound(target, jvb_state):
    """the media port (UDP 10000) is bound."""
    jitsi_service_skip(target, jvb_state, "jitsi-videobridge2")
    port = int(jvb_state.get("udp_port") or 10000)
    assert port in listeners(target, "u"), f"nothing bound to UDP {port}: is the bridge running?"
