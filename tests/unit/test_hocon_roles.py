"""Roles jicofo and videobridge: defaults in sync with argument_specs, and their HOCON
templates, rendered by Ansible's own templar, keep every promise they make (for each
authentication mode, with and without NAT)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from jitsi_sovereign.confcheck import hocon

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = "meet.example.org"


def _yaml(role: str, *parts: str):
    return yaml.safe_load((ROOT / "roles" / role / Path(*parts)).read_text())


def _trusted(value):
    """Role files are trusted templates for Ansible (data loaded by PyYAML is not)."""
    from ansible.template import trust_as_template

    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {k: _trusted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_trusted(v) for v in value]
    return value


@pytest.mark.parametrize("role", ["jicofo", "videobridge"])
def test_defaults_match_argument_specs(role):
    defaults = _yaml(role, "defaults", "main.yml")
    options = _yaml(role, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert set(defaults) == set(options)
    for name, spec in options.items():
        assert name.startswith(f"{role}_"), name
        want = defaults[name]
        have = spec.get("default")
        if isinstance(want, str):  # folded scalars: same text, whitespace aside
            want, have = " ".join(want.split()), " ".join(str(have).split())
        assert have == want, name


def _render(role: str, template: str, extra: dict) -> tuple[str, dict]:
    """Render a role template with the role's defaults and vars, as Ansible does."""
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar

    variables = {
        **_trusted(_yaml(role, "defaults", "main.yml")),
        **_trusted(_yaml(role, "vars", "main.yml")),
        "jitsi_sovereign_domain": DOMAIN, "inventory_hostname": "meet1",
        "ansible_managed": "Ansible managed",
        "_jicofo_current": {"commands": {"user": 2}},
        "_videobridge_current": {"commands": {"user": 2}},
        "_jicofo_password": "focusPassw0rd", "_videobridge_password": "jvbPassw0rd",
        **extra,
    }
    templar = Templar(loader=DataLoader(), variables=variables)
    text = _trusted((ROOT / "roles" / role / "templates" / template).read_text())
    rendered = templar.template(text)
    prefix = "_jicofo" if role == "jicofo" else "_videobridge"
    promises = templar.template(variables[f"{prefix}_promises"])
    return rendered, {"promises": dict(promises),
                      "required": templar.template(variables[f"{prefix}_required"]),
                      "forbidden": templar.template(variables[f"{prefix}_forbidden"])}


def _check(text: str, spec: dict, name: str) -> dict:
    tree = hocon.parse(text, name)
    assert hocon.mismatches(tree, spec["promises"], name) == []
    for path in spec["required"]:
        assert hocon.get(tree, path), path
    assert hocon.find_strings(tree, spec["forbidden"]) == []
    return tree


@pytest.mark.parametrize(("mode", "auth_type"), [("internal", "XMPP"), ("ldap", "XMPP"),
                                                 ("token", "JWT")])
def test_jicofo_template_keeps_its_promises(mode, auth_type):
    text, spec = _render("jicofo", "etc/jitsi/jicofo/jicofo.conf.j2", {"jicofo_auth": mode})
    tree = _check(text, spec, "jicofo.conf")
    assert hocon.get(tree, "jicofo.authentication.type") == auth_type
    assert hocon.get(tree, "jicofo.xmpp.client.hostname") == "127.0.0.1"
    assert hocon.get(tree, "jicofo.rest.host") == "127.0.0.1"
    assert hocon.get(tree, "jicofo.bridge.brewery-jid") == f"jvbbrewery@internal.auth.{DOMAIN}"
    assert hocon.get(tree, "jicofo.xmpp.client.password") == "focusPassw0rd"
    assert len(spec["promises"]) >= 15


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


def test_properties_template_sets_nothing_and_blocks_the_postinst_defaults():
    text = (ROOT / "roles/videobridge/templates/etc/jitsi/videobridge/"
            "sip-communicator.properties.j2").read_text()
    body = [line for line in text.splitlines()[1:] if line.strip()]
    assert all(line.lstrip().startswith("#") for line in body)
    # Jitsi's postinst greps for these names before it appends its own defaults.
    for key in ("org.ice4j.ice.harvest.STUN_MAPPING_HARVESTER_ADDRESSES",
                "org.ice4j.ice.harvest.NAT_HARVESTER_PUBLIC_ADDRESS",
                "org.jitsi.videobridge.xmpp.user.shard.MUC_JIDS"):
        assert key in text
    assert "jitsi.net" not in text
