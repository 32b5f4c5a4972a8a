"""Roles jicofo and videobridge: defaults in sync with argument_specs, and their HOCON
templates, rendered by Ansible's own templar, keep every promise they make (for each
authentication mode, with and without NAT)."""

from __future__ import annotations

import pytest
from role_files import (
    DOMAIN,
    ROOT,
    assert_defaults_match_specs,
    render,
    state_request,
    templar,
    trusted,
)

from jitsi_sovereign.confcheck import hocon


@pytest.mark.parametrize("role", ["jicofo", "videobridge"])
def test_defaults_match_argument_specs(role):
    assert_defaults_match_specs(role, folded=True)


def _render(role: str, template: str, extra: dict) -> tuple[str, dict]:
    """Render a role template with the role's defaults and vars, as Ansible does."""
    t = templar(role, {
        "inventory_hostname": "meet1",
        "_jicofo_current": {"commands": {"user": 2}},
        "_videobridge_current": {"commands": {"user": 2}},
        "_jicofo_password": "focusPassw0rd", "_videobridge_password": "jvbPassw0rd",
        **extra,
    })
    rendered = render(t, role, template)
    prefix = "_jicofo" if role == "jicofo" else "_videobridge"
    return rendered, {"promises": dict(t.template(t.available_variables[f"{prefix}_promises"])),
                      "required": t.template(t.available_variables[f"{prefix}_required"]),
                      "forbidden": t.template(t.available_variables[f"{prefix}_forbidden"])}


def _check(text: str, spec: dict, name: str) -> dict:
    tree = hocon.parse(text, name)
    assert hocon.mismatches(tree, spec["promises"], name) == []
    for path in spec["required"]:
        assert hocon.get(tree, path), path
    assert hocon.find_strings(tree, spec["forbidden"]) == []
    return tree


# token: jicofo's authentication off. jitsi/handbook docs/devops-guide/token-authentication.md
# ("The authentication must be disabled in jicofo.conf when the token authentication is
# active"); jitsi/jicofo jicofo-selector/src/main/resources/reference.conf ("Setting
# enabled=false is the same as type=NONE").
@pytest.mark.parametrize(("mode", "auth_type", "enabled"), [("internal", "XMPP", True),
                                                            ("ldap", "XMPP", True),
                                                            ("token", "NONE", False)])
def test_jicofo_template_keeps_its_promises(mode, auth_type, enabled):
    text, spec = _render("jicofo", "etc/jitsi/jicofo/jicofo.conf.j2", {"jicofo_auth": mode})
    tree = _check(text, spec, "jicofo.conf")
    assert hocon.get(tree, "jicofo.authentication.type") == auth_type
    assert hocon.get(tree, "jicofo.authentication.enabled") is enabled
    assert spec["promises"]["jicofo.authentication.enabled"] is enabled
    if enabled:
        assert hocon.get(tree, "jicofo.authentication.login-url") == DOMAIN
    else:
        assert hocon.get(tree, "jicofo.authentication.login-url", None) is None
        assert "jicofo.authentication.login-url" not in spec["promises"]
    assert hocon.get(tree, "jicofo.xmpp.client.hostname") == "127.0.0.1"
    assert hocon.get(tree, "jicofo.rest.host") == "127.0.0.1"
    assert hocon.get(tree, "jicofo.bridge.brewery-jid") == f"jvbbrewery@internal.auth.{DOMAIN}"
    assert hocon.get(tree, "jicofo.xmpp.client.password") == "focusPassw0rd"
    assert len(spec["promises"]) >= (15 if enabled else 13)


@pytest.mark.parametrize("nat", [False, True])
def test_videobridge_template_keeps_its_promises(nat):
    extra = ({"videobridge_private_ip": "10.0.0.5", "videobridge_public_ip": "203.0.113.10"}
             if nat else {})
    text, spec = _render("videobridge", "etc/jitsi/videobridge/jvb.conf.j2", extra)
    tree = _check(text, spec, "jvb.conf")
    assert hocon.get(tree, "ice4j.harvest.mapping.stun.addresses") == [f"{DOMAIN}:3478"]
    mappings = hocon.get(tree, "ice4j.harvest.mapping.static-mappings")
    if nat:
        assert [(m["local-address"], m["public-address"]) for m in mappings] == [
            ("10.0.0.5", "203.0.113.10")]
    else:
        assert mappings == []
    prefix = "videobridge.apis.xmpp-client.configs.shard"
    assert hocon.get(tree, f"{prefix}.PASSWORD") == "jvbPassw0rd"
    assert hocon.get(tree, "videobridge.http-servers.public.host") == "127.0.0.1"
    assert hocon.get(tree, "videobridge.http-servers.private.host") == "127.0.0.1"


def test_properties_template_sets_nothing():
    """The legacy file (read before jvb.conf) is kept empty: jitsi-videobridge2's current
    postinst never writes it (2.3-307-g4bb0aead1, jvb.conf only since 80ae790eb), and a
    leftover property of an older package would win over jvb.conf."""
    text = (ROOT / "roles/videobridge/templates/etc/jitsi/videobridge/"
            "sip-communicator.properties.j2").read_text()
    body = [line for line in text.splitlines()[1:] if line.strip()]
    assert body and all(line.lstrip().startswith("#") for line in body)
    assert "jitsi.net" not in text


@pytest.mark.parametrize(("role", "user"), [("jicofo", "jicofo"), ("videobridge", "jvb")])
def test_files_owned_as_the_packages_postinst_leaves_them(role, user):
    """C4: jicofo's and jitsi-videobridge2's postinsts run `chown -R <user>:jitsi` on their
    /etc/jitsi directory at each configure (jicofo stable/jitsi-meet_11146 and
    jitsi-videobridge 4bb0aead1, debian/postinst): the role's files have that owner and
    group once the package made its user, so an upgrade leaves nothing to put back; mode
    0400 keeps the shared group out. Without the package: root:root 0600."""
    prefix = f"_{role}"
    for uid, want in ((998, (user, "jitsi", "0400")), (None, ("root", "root", "0600"))):
        t = templar(role, {f"{prefix}_current": {"uids": {user: uid}, "gids": {"jitsi": 997}}})
        got = tuple(t.template(t.available_variables[f"{prefix}_{k}"])
                    for k in ("owner", "group", "mode"))
        assert got == want, (role, uid)
    request = templar(role, {f"{prefix}_current": {}}).template(trusted(state_request(role)))
    assert request["groups"] == ["jitsi"]  # so the controller compares the gid too
