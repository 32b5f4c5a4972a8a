"""config.js toolbarButtons (issue 10, C2): the jitsi_web role's default list and its
preflight against the upstream list of toolbar buttons kept in roles/jitsi_web/vars."""

from __future__ import annotations

import pytest
from role_files import preflight_problems, render, role_yaml, templar

from jitsi_sovereign.confcheck import configjs

UPSTREAM = role_yaml("jitsi_web", "vars", "main.yml")["_jitsi_web_upstream_toolbar_buttons"]
DEFAULT = role_yaml("jitsi_web", "defaults", "main.yml")["jitsi_web_toolbar_buttons"]


def test_upstream_list():
    assert len(UPSTREAM) == len(set(UPSTREAM)) == 39
    assert "filmstrip" not in UPSTREAM
    for name in ("mute-everyone", "mute-video-everyone", "reactions", "select-background",
                 "participants-pane", "toggle-camera", "audiotranslation"):
        assert name in UPSTREAM


def test_default_buttons():
    assert "filmstrip" not in DEFAULT
    assert "mute-everyone" in DEFAULT and "mute-video-everyone" in DEFAULT
    assert len(DEFAULT) == len(set(DEFAULT))
    assert [b for b in DEFAULT if b not in UPSTREAM] == []
    assert set(DEFAULT).isdisjoint(configjs.THIRD_PARTY_BUTTONS)


def test_rendered_config_js_has_the_default_buttons():
    text = render(templar("jitsi_web", {}, with_vars=False), "jitsi_web",
                  "etc/jitsi/meet/config.js.j2")
    assert configjs.parse(text).config["toolbarButtons"] == DEFAULT


def _preflight_errors(**over) -> list[str]:
    return preflight_problems("jitsi_web", **over)


def test_preflight_accepts_the_defaults():
    assert _preflight_errors() == []


def test_preflight_refuses_filmstrip_naming_it_and_the_fix():
    (error,) = _preflight_errors(jitsi_web_toolbar_buttons=["camera", "filmstrip", "chat"])
    assert error.startswith('jitsi_web_toolbar_buttons has "filmstrip": not a toolbar button '
                            "of Jitsi Meet 1.0.9365 ('filmstrip' was dropped upstream: "
                            "remove it).")
    assert "Remove it or correct the spelling; the buttons this role accepts are " \
        "audiotranslation, camera, chat, custom-panel, desktop, embedmeeting," in error
    assert "mute-everyone, mute-video-everyone" in error and "sharedvideo" not in error


def test_preflight_names_every_unknown_button_at_once_with_the_other_problems():
    errors = _preflight_errors(jitsi_web_toolbar_buttons=["camera", "chatt", "sharedvideo",
                                                          "mute_everyone", "chatt"],
                               jitsi_web_e2ee="required")
    assert len(errors) == 3
    assert errors[0].startswith('jitsi_web_e2ee is "required"')
    assert errors[1].startswith("jitsi_web_toolbar_buttons has ['sharedvideo'], which open a "
                                "third-party service")
    assert errors[2].startswith('jitsi_web_toolbar_buttons has "chatt", "mute_everyone": not '
                                "toolbar buttons of Jitsi Meet 1.0.9365. Remove them")


@pytest.mark.parametrize("buttons", [["reactions"], ["polls", "filesharing", "embedmeeting"],
                                     ["audiotranslation", "custom-panel", "highlight"]])
def test_preflight_accepts_upstream_buttons(buttons):
    assert _preflight_errors(jitsi_web_toolbar_buttons=buttons) == []
