"""The prosody role's files against Jitsi's and prosody's own sources (issue 10): each
setting rendered where upstream needs it and absent where it must not be, for every auth
mode, with and without Jitsi's modules (jitsi-meet-prosody), on prosody 0.12 (Debian 12)
and 13 (Debian 13). Rendered with Ansible's own templar (role_files.py).

Sources (read for these tests; facts only):
- JM = jitsi/jitsi-meet master abf901a45 (2026-07-08), read through the fork
  Pie-D/jitsi-meet: doc/debian/jitsi-meet-prosody/prosody.cfg.lua-jvb.example ("the
  template"), debian/jitsi-meet-prosody.postinst (last changed 8530c1f2f), debian/
  jitsi-meet-tokens.postinst, resources/prosody-plugins/ (token/util.lib.lua, the mod_*.lua).
- PRO = bjc/prosody (mirror of prosody's repository), tags 0.12.3 and 13.0.1.
- DJM = jitsi/docker-jitsi-meet tag stable-11146,
  prosody/rootfs/defaults/conf.d/jitsi-meet.cfg.lua and prosody/Dockerfile.
- HB = jitsi/handbook docs/devops-guide/token-authentication.md.
- Debian: dpkg-deb -c of lua-basexx 0.3-2.1, lua-inspect 3.1.1-2, lua-cjson, lua-luaossl
  and the first line of /usr/bin/prosody, bookworm (0.12.3-1+deb12u1) and trixie
  (13.0.1-1+deb131u2) packages, read on lab hosts.
"""

from __future__ import annotations

import re

import pytest
from role_files import DOMAIN, render, role_yaml, state_request, templar, trusted

SITE = "etc/prosody/conf.avail/site.cfg.lua.j2"
MAIN = "etc/prosody/prosody.cfg.lua.j2"
MODES = ["internal", "token", "ldap"]
DEBIANS = {"12": "0.12.3", "13": "13.0.1"}
ALL_FEATURES = role_yaml("prosody", "defaults", "main.yml")["prosody_features"]
LDAP = {"prosody_ldap_url": "ldaps://ldap.example.org", "prosody_ldap_base": "dc=example,dc=org"}


def _templar(mode: str, jitsi: bool, debian: str = "13", **extra):
    return templar("prosody", {
        "prosody_auth": mode,
        "jitsi_packages_installed": jitsi,
        "jitsi_packages_reason": "" if jitsi else "lab: Jitsi's repository is unreachable",
        "ansible_facts": {"distribution": "Debian", "distribution_major_version": debian,
                          "distribution_version": debian},
        "inventory_hostname": "meet1",
        "_prosody_current": {"files": {}, "links": {}, "dirs": {}, "packages": [],
                             "versions": {"prosody": DEBIANS[debian] + "-1"}},
        "_prosody_turn_secret": "turnSecret0123456789",
        "_prosody_jwt_secret": "jwtSecret" * 5 if mode == "token" else "",
        **(LDAP if mode == "ldap" else {}),
        **extra,
    })


def _site(mode: str, jitsi: bool, debian: str = "13", **extra) -> str:
    return render(_templar(mode, jitsi, debian, **extra), "prosody", SITE)


def _var(t, name: str):
    return t.template(t.available_variables[name])


def _blocks(text: str) -> dict[str, str]:
    """The file cut into its global part ("") and one text per VirtualHost/Component (key:
    its name), comments removed (prosody ignores them)."""
    blocks, key = {"": []}, ""
    for line in text.splitlines():
        code = line.split("--", 1)[0] if not line.lstrip().startswith("--") else ""
        m = re.match(r'^(VirtualHost|Component)\s+"([^"]+)"', code)
        if m:
            key = m.group(2)
            blocks[key] = []
        blocks[key].append(code)
    return {k: "\n".join(v) for k, v in blocks.items()}


def _modules(block: str) -> list[str]:
    m = re.search(r"modules_enabled\s*=\s*\{([^}]*)\}", block)
    return re.findall(r'"([^"]+)"', m.group(1)) if m else []


def _option(block: str, name: str) -> str | None:
    m = re.search(rf"^\s*{re.escape(name)}\s*=\s*(.+?)\s*;?\s*$", block, re.M)
    return m.group(1) if m else None


CASES = [(mode, jitsi, debian) for mode in MODES for jitsi in (False, True) for debian in DEBIANS]


# ------------------------------------------------------------------ B1: token libraries


@pytest.mark.parametrize("debian", list(DEBIANS))
@pytest.mark.parametrize("mode", MODES)
def test_token_mode_installs_the_lua_libraries(mode, debian):
    # JM resources/prosody-plugins/token/util.lib.lua requires "basexx", 'inspect',
    # "cjson.safe"; luajwtjitsi.lib.lua uses openssl.hmac (HS256). Debian packages:
    # lua-basexx, lua-inspect, lua-cjson, lua-luaossl (JM debian/control, jitsi-meet-prosody).
    packages = _var(_templar(mode, False, debian), "prosody_packages")
    libs = {"lua-basexx", "lua-inspect", "lua-cjson", "lua-luaossl"}
    if mode == "token":
        assert libs <= set(packages)
    else:
        assert not libs & set(packages)


def test_token_libraries_linked_into_lua_54_from_the_newest_copy():
    # Debian (bookworm and trixie): prosody runs `#!/usr/bin/env lua5.4`; lua-basexx ships
    # /usr/share/lua/5.1 and 5.2/basexx.lua only, lua-inspect 5.1, 5.2 and 5.3 only.
    # DJM prosody/Dockerfile moves /usr/share/lua/5.3/inspect.lua to 5.4 for the same reason.
    shipped = {f"/usr/share/lua/{v}/basexx.lua": {"sha1": "b"} for v in ("5.1", "5.2")}
    shipped |= {f"/usr/share/lua/{v}/inspect.lua": {"sha1": "i"} for v in ("5.1", "5.2", "5.3")}
    t = _templar("token", False, _prosody_current={"files": shipped, "links": {}})
    assert _var(t, "_prosody_token_lua_links") == [
        {"dest": "/usr/share/lua/5.4/basexx.lua", "src": "/usr/share/lua/5.2/basexx.lua"},
        {"dest": "/usr/share/lua/5.4/inspect.lua", "src": "/usr/share/lua/5.3/inspect.lua"},
    ]
    request = t.template(trusted(state_request("prosody")))
    assert "/usr/share/lua/5.4/basexx.lua" in request["links"]
    assert "/usr/share/lua/5.3/inspect.lua" in request["files"]


def test_token_libraries_never_linked_over_a_shipped_54_copy():
    # A package that ships its own 5.4 file wins (a regular file, not our link).
    files = {"/usr/share/lua/5.4/inspect.lua": {"sha1": "x"},
             "/usr/share/lua/5.2/basexx.lua": {"sha1": "b"}}
    t = _templar("token", False, _prosody_current={"files": files, "links": {}})
    links = _var(t, "_prosody_token_lua_links")
    assert [item["dest"] for item in links] == ["/usr/share/lua/5.4/basexx.lua"]
    # Our own link (a file read through it) is kept up to date, not taken for a shipped copy.
    files["/usr/share/lua/5.4/basexx.lua"] = {"sha1": "b"}
    ours = {"/usr/share/lua/5.4/basexx.lua": "/usr/share/lua/5.2/basexx.lua"}
    t = _templar("token", False, _prosody_current={"files": files, "links": ours})
    assert [item["dest"] for item in _var(t, "_prosody_token_lua_links")] == [
        "/usr/share/lua/5.4/basexx.lua"]


def test_token_check_runs_the_libraries_in_prosodys_interpreter():
    from jitsi_sovereign.checks import test_prosody

    for lib in ('require"basexx"', 'require"inspect"', 'require"cjson.safe"',
                'require"openssl.hmac"'):
        assert lib in test_prosody._TOKEN_LUA
    state = _var(_templar("token", False), "_prosody_state")
    assert state["token_lua"] == "lua5.4"
    assert _var(_templar("internal", False), "_prosody_state")["token_lua"] is None


# ------------------------------------------------------------------ B2: guests in token mode


@pytest.mark.parametrize(("mode", "jitsi", "debian"), CASES)
def test_domain_verification_off_in_token_mode(mode, jitsi, debian):
    # JM token/util.lib.lua: enable_domain_verification defaults to true, and then a guest
    # (no token, no room claim) gets 'room-name-does-not-match'; with false a tokenless
    # user is let through. DJM renders it, default false.
    main = _blocks(_site(mode, jitsi, debian))[DOMAIN]
    if mode == "token":
        assert _option(main, "enable_domain_verification") == "false"
        assert _option(main, "allow_empty_token") == "false"
        assert _option(main, "authentication") == '"token"'
    else:
        assert _option(main, "enable_domain_verification") is None
        assert _option(main, "app_secret") is None


def test_token_secret_rendered_as_a_lua_string():
    text = _site("token", False, _prosody_jwt_secret='a"b\\c' + "x" * 30)
    assert 'app_secret = "a\\"b\\\\c' in text


# ------------------------------------------------------------------ D1: postinst markers


@pytest.mark.parametrize(("mode", "jitsi", "debian"), CASES)
def test_postinst_finds_every_marker(mode, jitsi, debian):
    # JM debian/jitsi-meet-prosody.postinst (8530c1f2f): it edits the host file when
    # `Component "polls.<domain>"` (:165), `--"polls";` (:169), `internal.auth.<domain>`
    # (:143), restrict_room_creation within 2 lines after the conference Component (:183),
    # `unlimited_jids` (:188) or `component_admins_as_room_owners = ` (:195) is missing, or
    # when `--plugin_paths = {...}` is present (:176) or focus is not a client_proxy (:159).
    text = _site(mode, jitsi, debian)
    assert f'Component "polls.{DOMAIN}"' in text
    assert '--"polls";' in text
    assert f"internal.auth.{DOMAIN}" in text
    assert "unlimited_jids" in text
    assert "component_admins_as_room_owners = " in text
    assert '--plugin_paths = { "/usr/share/jitsi-meet/prosody-plugins/" }' not in text
    lines = text.splitlines()
    i = lines.index(f'Component "conference.{DOMAIN}" "muc"')
    assert any("restrict_room_creation" in line for line in lines[i + 1:i + 3])
    if f'Component "focus.{DOMAIN}"' in text:
        assert f'Component "focus.{DOMAIN}" "client_proxy"' in text
    # `"polls";` would be rewritten to `--"polls";` (:170) were the marker missing: and no
    # "polls" module is loaded anywhere (JM has no mod_polls.lua since 469406d7c).
    for name, block in _blocks(text).items():
        assert "polls" not in _modules(block), name


@pytest.mark.parametrize(("mode", "jitsi", "debian"), CASES)
def test_component_admins_as_room_owners_is_global(mode, jitsi, debian):
    # PRO 13.0.1 plugins/muc/mod_muc.lua:132 defaults it to false, 0.12.3 :118 to true (so
    # 0.12 knows it too); the template's first line sets it for prosody 13.
    assert _option(_blocks(_site(mode, jitsi, debian))[""],
                   "component_admins_as_room_owners") == "true"


# ------------------------------------------------------------------ D3: guests


@pytest.mark.parametrize(("mode", "jitsi", "debian"), CASES)
def test_guest_authentication(mode, jitsi, debian):
    # The template's main host uses "jitsi-anonymous" (:48), HB token-authentication.md the
    # guest host too; JM mod_auth_jitsi-anonymous.lua resumes a session through previd.
    guest = _blocks(_site(mode, jitsi, debian))[f"guest.{DOMAIN}"]
    want = '"jitsi-anonymous"' if jitsi else '"anonymous"'
    assert _option(guest, "authentication") == want


def test_no_guest_host_without_guests():
    assert f"guest.{DOMAIN}" not in _blocks(_site("internal", True, prosody_guests_enabled=False))


# ------------------------------------------------------------------ D6: smacks


@pytest.mark.parametrize("debian", list(DEBIANS))
def test_smacks_timers(debian):
    # The template :43-45 (global) and :128 (auth.<domain>: 15 s); DJM the same; PRO
    # plugins/mod_smacks.lua defaults: 600 s hibernation, 10 old sessions, 0 unacked.
    main = render(_templar("internal", False, debian), "prosody", MAIN)
    assert _option(main, "smacks_hibernation_time") == "60"
    assert _option(main, "smacks_max_unacked_stanzas") == "5"
    assert _option(main, "smacks_max_old_sessions") == "1"
    assert '"smacks"' in main
    auth = _blocks(_site("internal", False, debian))[f"auth.{DOMAIN}"]
    assert _option(auth, "smacks_hibernation_time") == "15"


# ------------------------------------------------------------------ D7, D8, D9, D10


@pytest.mark.parametrize(("mode", "jitsi", "debian"), CASES)
def test_conference_muc(mode, jitsi, debian):
    conference = _blocks(_site(mode, jitsi, debian))[f"conference.{DOMAIN}"]
    # D10: PRO mod_muc.lua muc_room_cache_size defaults to 100 (a core option: always).
    assert _option(conference, "muc_room_cache_size") == "1000"
    assert _option(conference, "restrict_room_creation") == "true"
    modules = _modules(conference)
    # D8: the template's conference modules start with muc_hide_all (Jitsi module).
    assert ("muc_hide_all" in modules) is jitsi
    # D9: HB token-authentication.md "muc_wait_for_host" on the conference Component;
    # token_verification there too (template, commented until jitsi-meet-tokens).
    assert ("muc_wait_for_host" in modules) is (jitsi and mode == "token")
    assert ("token_verification" in modules) is (jitsi and mode == "token")


@pytest.mark.parametrize(("mode", "jitsi", "debian"), CASES)
def test_main_host_modules(mode, jitsi, debian):
    main = _modules(_blocks(_site(mode, jitsi, debian))[DOMAIN])
    # JM mod_muc_wait_for_host.lua: "Depends on: mod_persistent_lobby (must be loaded on the
    # main VirtualHost)"; HB token-authentication.md "persistent_lobby".
    assert ("persistent_lobby" in main) is (jitsi and mode == "token")
    # The template's main host: features_identity, conference_duration, muc_lobby_rooms,
    # muc_breakout_rooms (Jitsi modules only).
    for module in ("muc_lobby_rooms", "features_identity", "conference_duration",
                   "muc_breakout_rooms"):
        assert (module in main) is jitsi, module
    assert "external_services" in main


@pytest.mark.parametrize(("mode", "jitsi", "debian"), CASES)
def test_lobby_and_brewery(mode, jitsi, debian):
    blocks = _blocks(_site(mode, jitsi, debian))
    lobby, brewery = f"lobby.{DOMAIN}", f"internal.auth.{DOMAIN}"
    if not jitsi:
        assert lobby not in blocks and brewery not in blocks
        return
    assert _option(blocks[lobby], "muc_room_cache_size") == "1000"
    # D7: DJM jitsi-meet.cfg.lua (internal MUC) restrict_room_creation = true,
    # muc_filter_access with muc_filter_whitelist = auth domain; JM mod_muc_filter_access.lua
    # drops presence whose domain is not on the list (and disables itself without the list).
    internal = blocks[brewery]
    assert _option(internal, "restrict_room_creation") == "true"
    assert "muc_filter_access" in _modules(internal)
    assert _option(internal, "muc_filter_whitelist") == f'"auth.{DOMAIN}"'
    assert {"focus@auth." + DOMAIN, "jvb@auth." + DOMAIN} <= set(
        re.findall(r'"([^"]+)"', _option(internal, "admins") or ""))


# ------------------------------------------------------------------ feature components

COMPONENTS = {  # the template :141-167
    "speakerstats": "speakerstats_component",
    "endconference": "end_conference",
    "avmoderation": "av_moderation_component",
    "filesharing": "filesharing_component",
    "metadata": "room_metadata_component",
    "polls": "polls_component",
}


@pytest.mark.parametrize(("mode", "jitsi", "debian"), CASES)
def test_feature_components(mode, jitsi, debian):
    text = _site(mode, jitsi, debian)
    blocks = _blocks(text)
    for sub, module in COMPONENTS.items():
        line = f'Component "{sub}.{DOMAIN}" "{module}"'
        assert (line in [ln.strip() for ln in text.splitlines()]) is jitsi, line
        if jitsi and sub != "polls":
            assert _option(blocks[f"{sub}.{DOMAIN}"], "muc_component") == f'"conference.{DOMAIN}"'
    breakout = f"breakout.{DOMAIN}"
    assert (breakout in blocks) is jitsi
    if jitsi:
        assert _modules(blocks[breakout])[:2] == ["muc_hide_all", "muc_meeting_id"]
        assert _option(blocks[DOMAIN], "breakout_rooms_muc") == f'"{breakout}"'
        assert _option(blocks[f"metadata.{DOMAIN}"], "breakout_rooms_component") == f'"{breakout}"'


def test_features_turned_off():
    on = ["speakerstats", "features_identity"]
    blocks = _blocks(_site("internal", True, prosody_features=on))
    assert f"speakerstats.{DOMAIN}" in blocks
    for sub in ("endconference", "avmoderation", "filesharing", "metadata", "polls",
                "breakout"):
        assert f"{sub}.{DOMAIN}" not in blocks, sub
    main = _modules(blocks[DOMAIN])
    assert "features_identity" in main
    assert "conference_duration" not in main and "muc_breakout_rooms" not in main
    assert _option(blocks[DOMAIN], "breakout_rooms_muc") is None
    state = _var(_templar("internal", True, prosody_features=on), "_prosody_state")
    assert state["jitsi_features"] == on
    assert f"speakerstats.{DOMAIN}" in state["jitsi_components"]
    assert f"polls.{DOMAIN}" not in state["jitsi_components"]
    # The postinst's polls marker is there even with polls off.
    assert f'Component "polls.{DOMAIN}"' in _site("internal", True, prosody_features=on)


def test_features_default_is_the_known_set():
    t = _templar("internal", True)
    specs = role_yaml("prosody", "meta", "argument_specs.yml")["argument_specs"]
    assert specs["main"]["options"]["prosody_features"]["choices"] == ALL_FEATURES
    assert set(_var(t, "_prosody_feature_components")) <= set(ALL_FEATURES)


@pytest.mark.parametrize("jitsi", [False, True])
def test_plugin_paths_is_there_before_jitsis_packages(jitsi):
    """B3: jitsi-meet-prosody's postinst (set -e) runs `prosodyctl mod_roster_command`
    (jitsi/jitsi-meet debian/jitsi-meet-prosody.postinst, 1.0.9365), which exits 1 when the
    module is not on plugin_paths (bjc/prosody 13.0.1 prosodyctl): the path is set even on a
    host deployed before the packages, so their later install cannot fail there."""
    text = render(_templar("internal", jitsi), "prosody", MAIN)
    code = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    assert 'plugin_paths = { "/usr/share/jitsi-meet/prosody-plugins/" }' in code


def test_token_mode_logs_to_one_file_kept_briefly():
    """N1: Jitsi's mod_token_verification logs a refused token whole at error level
    (jitsi/jitsi-meet 1.0.9365 resources/prosody-plugins/mod_token_verification.lua:
    module:log('error', 'Token %s not allowed to join: ...', tostring(session.auth_token)));
    no setting keeps it out, so in token mode prosody's log is one file rotated daily and
    kept prosody_token_log_days. Debian's own rotation (weekly, 52 kept) stays for the others."""
    token = render(_templar("token", True), "prosody", MAIN)
    assert 'warn = "/var/log/prosody/jitsi-sovereign-token.log";' in token
    assert "prosody.err" not in token.split("log = {", 1)[1].split("}", 1)[0]
    internal = render(_templar("internal", True), "prosody", MAIN)
    assert "jitsi-sovereign-token.log" not in internal
    assert 'error = "/var/log/prosody/prosody.err";' in internal
    for days, rotate in ((2, 1), (1, 0), (7, 6)):
        t = _templar("token", True, prosody_token_log_days=days)
        text = render(t, "prosody", "etc/logrotate.d/jitsi-sovereign-prosody-token.j2")
        assert text.startswith("#")  # the ansible_managed header
        body = [line.strip() for line in text.splitlines() if not line.startswith("#")]
        assert body[0] == "/var/log/prosody/jitsi-sovereign-token.log {"
        assert "daily" in body and f"rotate {rotate}" in body
    files = {f["dest"]: f for f in _var(_templar("internal", True), "_prosody_files")}
    rotation = files["/etc/logrotate.d/jitsi-sovereign-prosody-token"]
    assert rotation["validate"] == "logrotate --debug %s"
    # Kept in every mode, rotated even when unchanged: a token log left by an earlier token
    # mode ages out as well.
    assert "enabled" not in rotation and "notifempty" not in text
    for mode in ("internal", "token"):
        assert "/etc/logrotate.d/jitsi-sovereign-prosody-token" not in _var(
            _templar(mode, True), "_prosody_files_unwanted")
