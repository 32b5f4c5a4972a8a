"""Conformance of config.js with the pinned jitsi-meet (issue 10, item 8).

Every key the jitsi_web role renders (each E2EE and guest setting) is one Jitsi's web app
reads: the facts below are the line of each key, written or commented out, in the
reference config.js of jitsi/jitsi-meet @ abf901a45 (2026-07-08, read through its mirror
Pie-D/jitsi-meet; the packaging of 1.0.9365, stable 11146, was last changed before it).
One key is read by lib-jitsi-meet instead (jitsi/lib-jitsi-meet @ 01daa07c,
modules/e2ee/E2EEncryption.js:40: `e2ee.disabled || config.testing?.disableE2EE`).
The toolbar buttons are held by tests/unit/test_toolbar.py. When the pinned version moves,
these facts move with it, in the same commit.
"""

from __future__ import annotations

import pytest
from test_configjs_role import _render

from jitsi_sovereign.confcheck import configjs

# dotted key -> its line in jitsi-meet's config.js @ abf901a45 (None: read elsewhere, below)
UPSTREAM_LINES: dict[str, int | None] = {
    "analytics": 1145,
    "analytics.disabled": 1147,
    "analytics.rtcstatsEnabled": 1165,
    "analytics.watchRTCEnabled": 1188,
    "bosh": 49,
    "deeplinking": 1299,
    "deeplinking.disabled": 1315,
    "deeplinking.hideLogo": 1318,
    "defaultLanguage": 777,
    "disableThirdPartyRequests": 1099,
    "doNotStoreRoom": 1364,
    "e2ee": 1259,
    "e2ee.disabled": 1267,
    "enableCalendarIntegration": 795,
    "giphy": 1903,
    "giphy.enabled": 1905,
    "gravatar": 846,
    "gravatar.disabled": 850,
    "hosts": 31,
    "hosts.anonymousdomain": 36,
    "hosts.domain": 33,
    "hosts.muc": 45,
    "legalUrls": 1343,
    "legalUrls.helpCentre": 1344,
    "legalUrls.privacy": 1345,
    "legalUrls.terms": 1346,
    "liveStreaming": 465,
    "liveStreaming.dataPrivacyLink": 471,
    "liveStreaming.enabled": 467,
    "liveStreaming.helpLink": 475,
    "liveStreaming.termsLink": 469,
    "lobby": 730,
    "lobby.autoKnock": 732,
    "lobby.enableChat": 734,
    "p2p": 1105,
    "p2p.enabled": 1112,
    "p2p.stunServers": 1138,
    "prejoinConfig": 804,
    "prejoinConfig.enabled": 806,
    "prejoinConfig.hideDisplayName": 810,
    "prejoinConfig.hideExtraJoinButtons": 812,
    "recordingService": 430,
    "recordingService.enabled": 435,
    "requireDisplayName": 710,
    "securityUi": 740,
    "securityUi.hideLobbyButton": 742,
    "testing": 85,
    "testing.disableE2EE": None,
    "toolbarButtons": 867,
    "transcription": 494,
    "transcription.enabled": 496,
    "websocket": 52,
    "whiteboard": 1946,
    "whiteboard.enabled": 1948,
}
READ_ELSEWHERE = {"testing.disableE2EE": "lib-jitsi-meet 01daa07c E2EEncryption.js:40"}


def keys(config: dict, prefix: str = "") -> list[str]:
    """Every dotted key of the parsed config.js, objects and their members."""
    out = []
    for key, value in config.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        out.append(path)
        if isinstance(value, dict):
            out += keys(value, path)
    return out


def unknown(config: dict) -> list[str]:
    return [k for k in keys(config)
            if k not in UPSTREAM_LINES or (UPSTREAM_LINES[k] is None and k not in READ_ELSEWHERE)]


@pytest.mark.parametrize("over", [{}, {"jitsi_web_e2ee": "forbidden", "jitsi_web_guests": False},
                                  {"jitsi_web_e2ee": "required"}])
def test_every_config_js_key_is_read_by_jitsi_meet(over):
    try:
        parsed = configjs.parse(_render(**over))
    except configjs.ConfigJsError as exc:  # a setting the role refuses (its preflight says so)
        pytest.skip(f"the role does not render {over}: {exc}")
    assert unknown(parsed.config) == []


def test_a_misspelled_or_dead_key_is_caught():
    assert unknown({"p2p": {"enabled": False, "stunServer": []}, "filmStrip": {}}) == [
        "p2p.stunServer", "filmStrip"]
