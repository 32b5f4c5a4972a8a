"""Conformance of jicofo.conf and jvb.conf with the pinned Jitsi versions (issue 10, item 8).

Every key the jicofo and videobridge roles render must be one the component reads, with
the type it reads. The facts below were read in the upstream sources of the pinned set
(roles/jitsi_packages/defaults/main.yml: stable 11146): when the pinned versions move,
these facts move with them, in the same commit.

Sources (repository @ commit or tag, file):
- JVB    jitsi/jitsi-videobridge @ 4bb0aead1 (= jitsi-videobridge2 2.3-307-g4bb0aead1),
         jvb/src/main/resources/reference.conf, and the Kotlin config classes named per key
- JICOCO jitsi/jicoco @ e8384e2 (1.1-176-ge8384e2, jicoco.version of JVB's pom.xml):
         jicoco-mucclient/.../MucClientConfiguration.java,
         jicoco-jetty/.../JettyBundleActivatorConfig.kt
- ICE4J  jitsi/ice4j @ 6da2b08 (3.2-15-g6da2b08, JVB's pom.xml), src/main/resources/reference.conf
- JICOFO jitsi/jicofo @ tag stable/jitsi-meet_11146 (a595d0bc5, jicofo 1.0-1189):
         jicofo/src/main/resources/reference.conf (keys set or written as comments there),
         jicofo-common/... and jicofo-selector/... reference.conf
"""

from __future__ import annotations

import re

import pytest
from test_hocon_roles import _render

from jitsi_sovereign.confcheck import hocon

XMPP_CLIENT = r"videobridge\.apis\.xmpp-client\.configs\.[A-Za-z0-9_-]+\."

# (key, or a regular expression for keys under a free-form id) -> (type, where it is read)
JVB_FACTS: dict[str, tuple[type, str]] = {
    "videobridge.apis.rest.enabled": (bool, "JVB reference.conf (false)"),
    "videobridge.http-servers.private.host": (str, "JVB reference.conf (127.0.0.1)"),
    # "See JettyBundleActivatorConfig in Jicoco": "$prefix.port", "$prefix.host"
    "videobridge.http-servers.private.port": (int, "JICOCO JettyBundleActivatorConfig.kt"),
    "videobridge.http-servers.public.host": (str, "JICOCO JettyBundleActivatorConfig.kt"),
    "videobridge.http-servers.public.port": (int, "JVB reference.conf (-1: off unless set)"),
    "videobridge.ice.udp.port": (int, "JVB reference.conf; IceConfig.kt"),
    "videobridge.ice.advertise-private-candidates": (bool, "JVB reference.conf; IceConfig.kt"),
    "videobridge.version.announce": (bool, "JVB reference.conf"),
    "videobridge.websockets.enabled": (bool, "JVB reference.conf; WebsocketServiceConfig.kt"),
    "videobridge.websockets.server-id": (str, "JVB reference.conf; WebsocketServiceConfig.kt"),
    # optionalconfig "videobridge.websockets.domain", added to `domains` (a list)
    "videobridge.websockets.domain": (str, "JVB WebsocketServiceConfig.kt"),
    "videobridge.websockets.tls": (bool, "JVB WebsocketServiceConfig.kt ('#tls = true' in "
                                         "reference.conf)"),
    XMPP_CLIENT + "HOSTNAME": (str, "JICOCO MucClientConfiguration.java"),
    XMPP_CLIENT + "DOMAIN": (str, "JICOCO MucClientConfiguration.java"),
    XMPP_CLIENT + "USERNAME": (str, "JICOCO MucClientConfiguration.java"),
    XMPP_CLIENT + "PASSWORD": (str, "JICOCO MucClientConfiguration.java"),
    XMPP_CLIENT + "MUC_JIDS": (str, "JICOCO MucClientConfiguration.java"),
    XMPP_CLIENT + "MUC_NICKNAME": (str, "JICOCO MucClientConfiguration.java"),
    XMPP_CLIENT + "DISABLE_CERTIFICATE_VERIFICATION": (bool, "JICOCO MucClientConfiguration.java"),
    "ice4j.harvest.mapping.aws.enabled": (bool, "ICE4J reference.conf (true)"),
    "ice4j.harvest.mapping.stun.addresses": (list, "ICE4J reference.conf ([])"),
    "ice4j.harvest.mapping.static-mappings": (list, "ICE4J reference.conf ([])"),
}

JICOFO_FACTS: dict[str, tuple[type, str]] = {
    "jicofo.authentication.enabled": (bool, "JICOFO reference.conf"),
    "jicofo.authentication.type": (str, "JICOFO reference.conf (XMPP, JWT or NONE)"),
    "jicofo.authentication.login-url": (str, "JICOFO reference.conf ('# login-url =')"),
    "jicofo.authentication.enable-auto-login": (bool, "JICOFO reference.conf"),
    "jicofo.bridge.brewery-jid": (str, "JICOFO reference.conf ('# brewery-jid =')"),
    "jicofo.conference.enable-auto-owner": (bool, "JICOFO reference.conf"),
    "jicofo.rest.host": (str, "JICOFO reference.conf"),
    "jicofo.rest.port": (int, "JICOFO reference.conf"),
    "jicofo.xmpp.client.enabled": (bool, "JICOFO reference.conf"),
    "jicofo.xmpp.client.hostname": (str, "JICOFO reference.conf"),
    "jicofo.xmpp.client.port": (int, "JICOFO reference.conf"),
    "jicofo.xmpp.client.domain": (str, "JICOFO reference.conf ('#domain =')"),
    "jicofo.xmpp.client.xmpp-domain": (str, "JICOFO reference.conf ('#xmpp-domain =')"),
    "jicofo.xmpp.client.username": (str, "JICOFO reference.conf"),
    "jicofo.xmpp.client.password": (str, "JICOFO reference.conf ('#password =')"),
    "jicofo.xmpp.client.conference-muc-jid": (str, "JICOFO reference.conf "
                                                   "('# conference-muc-jid =')"),
    "jicofo.xmpp.client.disable-certificate-verification": (bool, "JICOFO reference.conf"),
    "jicofo.xmpp.client.client-proxy": (str, "JICOFO reference.conf ('#client-proxy =')"),
    "jicofo.xmpp.client.use-tls": (bool, "JICOFO reference.conf"),
    "jicofo.xmpp.trusted-domains": (list, "JICOFO reference.conf"),
}


def unknown_keys(tree: dict, facts: dict[str, tuple[type, str]]) -> list[str]:
    """Every leaf of `tree` that no fact names, or whose value has another type."""
    problems = []
    leaves = {}
    for path, value in hocon.walk(tree):
        # A list is one value (static-mappings: a list of objects): its items are not keys.
        parts = path.split(".")
        numbered = [i for i, part in enumerate(parts) if part.isdigit()]
        if numbered:
            path = ".".join(parts[:numbered[0]])
            value = hocon.get(tree, path)
        leaves[path] = value
    for path, value in leaves.items():
        match = facts.get(path) or next((fact for key, fact in facts.items()
                                         if "\\" in key and re.fullmatch(key, path)), None)
        if match is None:
            problems.append(f"{path}: read by nothing in the pinned version")
        elif not isinstance(value, match[0]) or (match[0] is int and isinstance(value, bool)):
            problems.append(f"{path}: {type(value).__name__}, "
                            f"{match[1]} reads a {match[0].__name__}")
    return problems


@pytest.mark.parametrize("extra", [{}, {"videobridge_private_ip": "10.0.0.5",
                                        "videobridge_public_ip": "203.0.113.10"}])
def test_every_jvb_conf_key_is_read_by_the_pinned_bridge(extra):
    text, _ = _render("videobridge", "etc/jitsi/videobridge/jvb.conf.j2", extra)
    tree = hocon.parse(text, "jvb.conf")
    assert unknown_keys(tree, JVB_FACTS) == []
    # The NAT mapping's items are objects with the keys ice4j's reference.conf documents.
    for mapping in hocon.get(tree, "ice4j.harvest.mapping.static-mappings"):
        assert set(mapping) <= {"local-address", "public-address", "local-port", "public-port",
                                "name"}


@pytest.mark.parametrize("mode", ["internal", "ldap", "token"])
def test_every_jicofo_conf_key_is_read_by_the_pinned_jicofo(mode):
    text, _ = _render("jicofo", "etc/jitsi/jicofo/jicofo.conf.j2", {"jicofo_auth": mode})
    assert unknown_keys(hocon.parse(text, "jicofo.conf"), JICOFO_FACTS) == []


def test_the_check_catches_a_dead_key_and_a_wrong_type():
    """The bridge stopped reading ice.tcp (IceConfig.kt at 4bb0aead1): such a key is named."""
    tree = {"videobridge": {"ice": {"tcp": {"enabled": False}, "udp": {"port": "10000"}},
                            "apis": {"xmpp-client": {"configs": {"shard": {"HOSTNAME": "x"}}}}},
            "ice4j": {"harvest": {"mapping": {"stun": {"addresses": ["a:1", "b:2"]}}}}}
    assert unknown_keys(tree, JVB_FACTS) == [
        "videobridge.ice.tcp.enabled: read by nothing in the pinned version",
        "videobridge.ice.udp.port: str, JVB reference.conf; IceConfig.kt reads a int",
    ]
