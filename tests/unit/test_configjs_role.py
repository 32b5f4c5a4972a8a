"""The jitsi_web role's config.js template through its own checker, and the roles'
defaults in sync with their argument_specs (no host needed)."""

from __future__ import annotations

import pytest
from role_files import DOMAIN, ROOT, assert_defaults_match_specs, render, templar

from jitsi_sovereign.confcheck import configjs

ROLE = ROOT / "roles" / "jitsi_web"


def _render(**over) -> str:
    return render(templar("jitsi_web", over, with_vars=False), "jitsi_web",
                  "etc/jitsi/meet/config.js.j2")


def _promises(**over) -> dict:
    args = {"guest_domain": f"guest.{DOMAIN}", "e2ee": "available", "language": "fr"}
    args.update(over)
    return configjs.expected(DOMAIN, **args)


def test_template_passes_its_checker():
    parsed = configjs.check(_render(), DOMAIN, _promises())
    assert configjs.get(parsed.config, "hosts.anonymousdomain") == f"guest.{DOMAIN}"
    assert configjs.get(parsed.config, "p2p.stunServers") == [{"urls": f"stun:{DOMAIN}:3478"}]
    assert "meet-jit-si-turnrelay.jitsi.net" not in parsed.hosts


def test_template_forbidden_e2ee_without_guests():
    text = _render(jitsi_web_e2ee="forbidden", jitsi_web_guests=False,
                   jitsi_web_default_language="de")
    parsed = configjs.check(text, DOMAIN, _promises(guest_domain=None, e2ee="forbidden",
                                                    language="de"))
    assert configjs.get(parsed.config, "testing.disableE2EE") is True
    assert configjs.get(parsed.config, "hosts.anonymousdomain") is configjs.ABSENT


def test_template_with_a_foreign_legal_url_fails():
    own = f"https://{DOMAIN}/"
    text = _render(jitsi_web_legal_urls={"helpCentre": "https://jitsi.org/faq",
                                         "privacy": own, "terms": own})
    with pytest.raises(configjs.ConfigJsError,
                       match=r"jitsi\.org \(in config\.legalUrls\.helpCentre\)"):
        configjs.check(text, DOMAIN, _promises())


@pytest.mark.parametrize("role", ["jitsi_web", "nginx"])
def test_defaults_match_argument_specs(role):
    assert_defaults_match_specs(role)


def _render_nginx_site(app_version: str | None) -> str:
    t = templar("nginx", {"ansible_facts": {"distribution_major_version": "13"},
                          "_nginx_current": {"versions": {"nginx-common": "1.26.3-3",
                                                          "jitsi-meet-web": app_version}}})
    return render(t, "nginx", "etc/nginx/sites-available/jitsi-sovereign.j2")


def _https_locations(text: str) -> tuple:
    from jitsi_sovereign.checks import tlsparse

    servers = [d for d in tlsparse.parse_nginx_block(text) if d.name == "server"]
    https = [s for s in servers if 443 in tlsparse.listen_ports(s)]
    assert len(https) == 1
    return https[0], {" ".join(loc.args): loc for loc in tlsparse.locations(https[0])}


@pytest.mark.parametrize("app", [None, "1.0.8"])
def test_nginx_site_jitsi_locations(app):
    server, locs = _https_locations(_render_nginx_site(app))
    assert [d.args for d in locs["= /config.js"].children("alias")] == \
        [[f"/etc/jitsi/meet/{DOMAIN}-config.js"]]
    assert [d.args for d in locs["= /http-bind"].children("proxy_pass")] == \
        [["http://127.0.0.1:5280/http-bind"]]
    assert [d.args for d in locs["= /xmpp-websocket"].children("proxy_pass")] == \
        [["http://127.0.0.1:5280/xmpp-websocket"]]
    assert [d.args for d in locs["^~ /colibri-ws/"].children("proxy_pass")] == \
        [["http://127.0.0.1:9090"]]
    root = [d.args for d in server.children("root")]
    if app is None:
        assert root == [["/var/www/jitsi-sovereign"]]
        assert "= /interface_config.js" not in locs and not server.children("ssi")
    else:
        assert root == [["/usr/share/jitsi-meet"]]
        assert [d.args for d in server.children("ssi")] == [["on"]]
        assert "~ ^/([^/?&:'\"]+)$" in locs
        assert [d.args for d in locs["= /interface_config.js"].children("alias")] == \
            [[f"/etc/jitsi/meet/{DOMAIN}-interface_config.js"]]


def test_template_toolbar_has_the_moderator_buttons_and_no_filmstrip():
    buttons = configjs.parse(_render()).config["toolbarButtons"]
    assert "filmstrip" not in buttons
    assert {"mute-everyone", "mute-video-everyone"} <= set(buttons)
