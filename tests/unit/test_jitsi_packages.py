"""jitsi_packages: the OpenPGP fingerprint helper, the filter plugin, the role's files
(defaults in sync with argument_specs, the rendered source and pins read back by the
checks' parsers) and the probe's reading of apt's output."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import jinja2
import pytest
import yaml
from role_files import (
    assert_defaults_match_specs,
    load_source,
    plugin,
    preflight_problems,
    site_roles,
    state_request,
    templar,
    trusted,
)

from jitsi_sovereign.checks import test_jitsi_packages as checks
from jitsi_sovereign.confcheck import openpgp

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "jitsi_packages"
KEY = ROLE / "files" / "jitsi-stable.asc"
# Jitsi's repository signing key since April 2021 (jitsi/jitsi-meet#9084: "We rotated
# the key"); the same file as Debian's extrepo-offline-data jitsi-stable.asc.
JITSI_FPR = "FFD65A0DA2BEBDEB73D44C8BB4D2D216F1FD7806"
JITSI_SUBKEY = "F1FD445F7CC63AE6B177D1D48B884DE2A3FE18A7"
# The key before the rotation (2016): must not be what the role ships.
OLD_FPR = "66A9CD0595D6AFA247290D3BEF8B479E2DC1389C"


def _load(path: Path, name: str):
    return load_source(path, name)


# ------------------------------------------------------------------ OpenPGP


def test_shipped_key_fingerprint() -> None:
    keys = openpgp.parse_keys(KEY.read_text())
    assert [k.fingerprint for k in keys] == [JITSI_FPR]
    assert keys[0].subkeys == [JITSI_SUBKEY]
    assert keys[0].user_ids == ["Jitsi <dev@jitsi.org>"]
    assert keys[0].version == 4 and keys[0].algorithm == 1  # RSA
    assert OLD_FPR not in openpgp.fingerprints(KEY.read_text())


@pytest.mark.skipif(shutil.which("gpg") is None, reason="gpg is not installed here")
def test_fingerprint_agrees_with_gpg(tmp_path: Path) -> None:
    env = {"GNUPGHOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(["gpg", "--batch", "--show-keys", "--with-colons", str(KEY)],
                         capture_output=True, text=True, check=True, env=env).stdout
    gpg_fprs = [line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:")]
    key = openpgp.parse_keys(KEY.read_text())[0]
    assert gpg_fprs == [key.fingerprint, *key.subkeys]


def test_binary_and_armored_agree() -> None:
    binary = openpgp.dearmor(KEY.read_text())
    assert binary[0] & 0x80 and openpgp.fingerprints(binary) == [JITSI_FPR]
    assert openpgp.fingerprints(KEY.read_bytes()) == [JITSI_FPR]


def test_armor_headers_are_skipped() -> None:
    text = KEY.read_text().replace("-----BEGIN PGP PUBLIC KEY BLOCK-----\n",
                                   "-----BEGIN PGP PUBLIC KEY BLOCK-----\nComment: mirror\n", 1)
    assert openpgp.fingerprints(text) == [JITSI_FPR]


def test_damaged_armor_is_refused() -> None:
    text = KEY.read_text()
    lines = text.splitlines()
    i = next(n for n, line in enumerate(lines) if len(line) == 64)
    lines[i] = ("A" if lines[i][10] != "A" else "B").join([lines[i][:10], lines[i][11:]])
    with pytest.raises(openpgp.OpenPGPError, match="CRC-24"):
        openpgp.fingerprints("\n".join(lines) + "\n")


def test_changed_key_material_changes_the_fingerprint() -> None:
    data = bytearray(openpgp.dearmor(KEY.read_text()))
    data[200] ^= 0x01  # inside the RSA modulus of the primary key
    assert openpgp.fingerprints(bytes(data)) != [JITSI_FPR]


def test_two_keys_give_two_fingerprints() -> None:
    data = openpgp.dearmor(KEY.read_text())
    other = bytearray(data)
    other[200] ^= 0x01
    fprs = openpgp.fingerprints(data + bytes(other))
    assert len(fprs) == 2 and fprs[0] == JITSI_FPR and fprs[1] != JITSI_FPR


@pytest.mark.parametrize("bad", [
    "no key here",
    "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!!!\n-----END PGP PUBLIC KEY BLOCK-----\n",
    "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n" + base64.b64encode(b"\x01\x02").decode()
    + "\n-----END PGP PUBLIC KEY BLOCK-----\n",
])
def test_not_a_key(bad: str) -> None:
    with pytest.raises(openpgp.OpenPGPError):
        openpgp.fingerprints(bad)


def test_truncated_packet() -> None:
    data = openpgp.dearmor(KEY.read_text())
    with pytest.raises(openpgp.OpenPGPError, match="past the end"):
        openpgp.fingerprints(data[:100])


def test_normalize_fingerprint() -> None:
    spaced = "ffd6 5a0d a2be bdeb 73d4  4c8b b4d2 d216 f1fd 7806"
    assert openpgp.normalize_fingerprint(spaced) == JITSI_FPR
    assert openpgp.normalize_fingerprint("0x" + JITSI_FPR.lower()) == JITSI_FPR
    with pytest.raises(ValueError):
        openpgp.normalize_fingerprint("2DC1389C")


def test_filter_plugin() -> None:
    module = plugin("filter", "openpgp")
    filters = module.FilterModule().filters()
    assert filters["openpgp_fingerprints"](KEY.read_text()) == [JITSI_FPR]
    spaced = "ffd6 5a0d a2be bdeb 73d4 4c8b b4d2 d216 f1fd 7806"
    assert filters["openpgp_fingerprint_normalize"](spaced) == JITSI_FPR
    from ansible.errors import AnsibleFilterError
    with pytest.raises(AnsibleFilterError, match="not a usable OpenPGP public key"):
        filters["openpgp_fingerprints"]("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n"
                                        "-----END PGP PUBLIC KEY BLOCK-----")


# ------------------------------------------------------------------ the role's files


def test_defaults_match_argument_specs() -> None:
    assert_defaults_match_specs("jitsi_packages")
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    assert defaults["jitsi_packages_key_fingerprint"] == JITSI_FPR
    assert set(defaults["jitsi_packages_versions"]) == set(checks.PACKAGES)


# The templates, at their target paths.
SOURCES = "etc/apt/sources.list.d/jitsi-sovereign-jitsi.sources.j2"
PREF = "etc/apt/preferences.d/jitsi-sovereign-jitsi.pref.j2"


def _render(name: str, **overrides) -> str:
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    role_vars = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
    # As Ansible renders templates: trim_blocks on.
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             trim_blocks=True)
    env.filters["comment"] = lambda text: "#\n# " + text + "\n#"
    context = {**defaults, **overrides, "ansible_managed": "Ansible managed",
               "_jitsi_packages_names": role_vars["_jitsi_packages_names"],
               "_jitsi_packages_forbidden": role_vars["_jitsi_packages_forbidden"],
               "_jitsi_packages_keyring": "/etc/apt/keyrings/jitsi-sovereign-jitsi.asc",
               "_jitsi_packages_fingerprint": JITSI_FPR}
    return env.from_string((ROLE / "templates" / name).read_text()).render(context)


def test_rendered_pins_read_back_by_the_check() -> None:
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    have = checks.pins(_render(PREF))
    for name, version in defaults["jitsi_packages_versions"].items():
        assert have[name] == (f"version {version}", 1001)
    for name in ("jitsi-meet-web-config", "jitsi-meet-turnserver", "jitsi-meet"):
        assert have[name] == ("version *", -1)


def test_rendered_source_read_back_by_the_check() -> None:
    stanzas = checks.parse_deb822(_render(SOURCES))
    assert stanzas == [{"Types": "deb", "URIs": "https://download.jitsi.org", "Suites": "stable/",
                        "Signed-By": "/etc/apt/keyrings/jitsi-sovereign-jitsi.asc"}]
    mirror = checks.parse_deb822(_render(SOURCES,
                                         jitsi_packages_repo_url="https://apt.example.org/jitsi",
                                         jitsi_packages_suite="stable",
                                         jitsi_packages_components=["main"]))
    assert checks.field(mirror[0], "components") == "main"
    assert checks.field(mirror[0], "uris") == "https://apt.example.org/jitsi"


def test_deb822_parser() -> None:
    text = ("# c\nTypes: deb\nURIs: https://a\n https://b\n\n\n"
            "Package: x y\nPin: version 1\nPin-Priority: -1\n")
    stanzas = checks.parse_deb822(text)
    assert stanzas[0]["URIs"] == "https://a https://b"
    assert checks.pins(text) == {"x": ("version 1", -1), "y": ("version 1", -1)}
    with pytest.raises(ValueError):
        checks.parse_deb822("no colon here\n")


# ------------------------------------------------------------------ the probe


# What apt 3.0 printed on a lab host (the lab's apt-cacher-ng refuses HTTPS tunnels).
_REFUSED = ("Invalid response from proxy: HTTP/1.0 403 CONNECT denied (ask the admin to allow "
            "HTTPS tunnels)     [IP: 198.51.100.1 3142]")
APT_PROXY_REFUSED = (
    "Err:1 https://download.jitsi.org stable/ InRelease\n"
    f"  {_REFUSED}\n"
    "Reading package lists...\n"
    f"W: Failed to fetch https://download.jitsi.org/stable/InRelease  {_REFUSED}\n"
    "W: Some index files failed to download. They have been ignored, or old ones used instead.\n")
APT_NO_PUBKEY = (
    "Get:1 https://download.jitsi.org stable/ InRelease [1,888 B]\n"
    "W: GPG error: https://download.jitsi.org stable/ InRelease: The following signatures "
    "couldn't be verified because the public key is not available: NO_PUBKEY B4D2D216F1FD7806\n"
    "E: The repository 'https://download.jitsi.org stable/ InRelease' is not signed.\n")


def test_probe_error_lines() -> None:
    probe = _load(ROLE / "files" / "probe.py", "jsov_jitsi_probe")
    assert probe._error_line(APT_PROXY_REFUSED) == (
        "https://download.jitsi.org stable/ InRelease: Invalid response from proxy: HTTP/1.0 403 "
        "CONNECT denied (ask the admin to allow HTTPS tunnels) [IP: 198.51.100.1 3142]")
    assert "NO_PUBKEY B4D2D216F1FD7806" in probe._error_line(APT_NO_PUBKEY)
    assert probe._error_line("Hit:1 https://download.jitsi.org stable/ InRelease\n") is None


def test_probe_writes_source_and_key(tmp_path: Path) -> None:
    probe = _load(ROLE / "files" / "probe.py", "jsov_jitsi_probe2")
    tmp = tmp_path / "probe"
    tmp.mkdir()
    request = {"uris": "https://apt.example.org/jitsi", "suite": "stable", "components": ["main"],
               "key": KEY.read_text()}
    sources = Path(probe._write_source(str(tmp), request))
    stanza = checks.parse_deb822(sources.read_text())[0]
    assert stanza == {"Types": "deb", "URIs": "https://apt.example.org/jitsi", "Suites": "stable",
                      "Components": "main", "Signed-By": str(tmp / "jitsi.asc")}
    assert openpgp.fingerprints((tmp / "jitsi.asc").read_text()) == [JITSI_FPR]
    # apt's unprivileged _apt user must read both.
    assert oct(tmp.stat().st_mode & 0o777) == "0o755"
    assert oct(sources.stat().st_mode & 0o777) == "0o644"
    flat = checks.parse_deb822(Path(probe._write_source(
        str(tmp), {**request, "suite": "stable/", "components": []})).read_text())[0]
    assert "Components" not in flat and flat["Suites"] == "stable/"


# ---------------------------------------------------------------- the install's plan
# Issue 10 (D5, D12): Jitsi's packages cannot be installed here, so the order is held at
# plan level: the role files, read as data.

ROLES = Path(__file__).resolve().parents[2] / "roles"


def _tasks(role: str, name: str) -> list[dict]:
    return yaml.safe_load((ROLES / role / "tasks" / name).read_text())


def _index(tasks: list[dict], needle: str) -> int:
    (i,) = [i for i, t in enumerate(tasks) if needle in t["name"]]
    return i


def test_jicofo_and_the_bridge_are_masked_through_the_install() -> None:
    """policy-rc.d does not stop jitsi-meet-prosody's `systemctl restart jicofo/jvb`:
    both units are masked right before the install, on the same condition."""
    tasks = _tasks("jitsi_packages", "install.yml")
    mask, install = _index(tasks, "Mask jicofo"), _index(tasks, "Install the pinned")
    assert mask == install - 1
    assert tasks[mask]["ansible.builtin.systemd_service"]["masked"] is True
    assert tasks[mask]["loop"] == "{{ _jitsi_packages_masked_units }}"
    units = yaml.safe_load((ROLES / "jitsi_packages" / "vars" / "main.yml").read_text())[
        "_jitsi_packages_masked_units"]
    assert units == ["jicofo.service", "jitsi-videobridge2.service"]
    assert [c for c in tasks[install]["when"]] == [c for c in tasks[mask]["when"]
                                                   if c != "not ansible_check_mode"]
    assert tasks[install]["jitsi_sovereign.core.apt"]["policy_rc_d"] == 101


@pytest.mark.parametrize("role,unit", [("jicofo", "_jicofo_unit"),
                                       ("videobridge", "_videobridge_unit")])
def test_each_role_unmasks_its_unit_once_configured(role: str, unit: str) -> None:
    main = _tasks(role, "main.yml")
    names = [t["name"] for t in main]
    # The service step (unmask, enable, start) comes after the configuration is written.
    assert any("onfigur" in n for n in names[:names.index(next(
        n for n in names if "ervice" in n))]), names
    (start,) = [t for t in _tasks(role, "service.yml") if "ansible.builtin.systemd_service" in t]
    args = start["ansible.builtin.systemd_service"]
    assert args == {"name": f"{{{{ {unit} }}}}", "masked": False, "enabled": True,
                    "state": "started"}


def test_site_runs_the_packages_before_the_roles_that_unmask() -> None:
    roles = [name for name, _ in site_roles()]
    assert roles.index("jitsi_packages") < roles.index("jicofo")
    assert roles.index("jitsi_packages") < roles.index("videobridge")


def test_the_packages_leftovers_are_taken_out_after_the_install() -> None:
    """The auth.<domain> CA the postinst links into the trust store, and jaas.cfg.lua."""
    tasks = _tasks("jitsi_packages", "install.yml")
    remove, rebuild = _index(tasks, "leftovers"), _index(tasks, "Rebuild the system trust")
    assert _index(tasks, "Install the pinned") < remove < rebuild
    leftovers = "{{ _jitsi_packages_leftovers }}"
    assert tasks[remove]["jitsi_sovereign.core.files"]["absent"] == leftovers
    assert tasks[rebuild]["ansible.builtin.command"]["argv"] == ["update-ca-certificates",
                                                                 "--fresh"]
    env = jinja2.Environment()
    vars_ = yaml.safe_load((ROLES / "jitsi_packages" / "vars" / "main.yml").read_text())
    ca = env.from_string(vars_["_jitsi_packages_auth_ca"]).render(
        jitsi_packages_domain="meet.example.fr")
    assert ca == "/usr/local/share/ca-certificates/auth.meet.example.fr.crt"
    assert "/etc/prosody/conf.avail/jaas.cfg.lua" in vars_["_jitsi_packages_leftovers"]
    # Read both ways by the role's one read, so a re-run skips the removal on the controller.
    request = state_request("jitsi_packages")
    assert "_jitsi_packages_leftovers" in request["files"]
    assert request["links"] == "{{ _jitsi_packages_leftovers }}"


# ------------------------------------------------------------------ preflight


def _problems(**settings) -> list[str]:
    return preflight_problems("jitsi_packages", role_path=str(ROLE), **settings)


def test_preflight_accepts_the_defaults_and_a_mirror() -> None:
    assert _problems() == []
    assert _problems(jitsi_packages_repo_url="http://apt.example.org/jitsi",
                     jitsi_packages_suite="stable", jitsi_packages_components=["main"],
                     jitsi_packages_update_timeout="300") == []


PINNED = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())["jitsi_packages_versions"]


@pytest.mark.parametrize(("settings", "words"), [
    ({"jitsi_packages_domain": "meet_example"},
     "jitsi_packages_domain must be the meeting's host name (is meet_example)"),
    ({"jitsi_packages_domain": trusted("{{ jitsi_sovereign_domain_unset }}")},
     "jitsi_packages_domain must be the meeting's host name (is not set): set "
     "jitsi_sovereign_domain"),
    ({"jitsi_packages_cert_key_file": "privkey.pem"},
     "jitsi_packages_cert_file and jitsi_packages_cert_key_file must be absolute paths"),
    ({"jitsi_packages_repo_url": "ftp://download.jitsi.org"},
     "jitsi_packages_repo_url must be an https:// (or, for a mirror"),
    ({"jitsi_packages_suite": "stable"},
     'jitsi_packages_suite (is stable) ends with "/" for a flat repository'),
    ({"jitsi_packages_components": ["main"]}, "and then jitsi_packages_components must be empty"),
    ({"jitsi_packages_suite": "stable", "jitsi_packages_components": ["main contrib"]},
     "jitsi_packages_components must be component names such as main"),
    ({"jitsi_packages_update_timeout": "0"},
     "jitsi_packages_update_timeout must be between 1 and 300 seconds (is 0)"),
    ({"jitsi_packages_versions": {"jicofo": "1.0-1189-1"}},
     "jitsi_packages_versions must give an exact Debian version"),
    ({"jitsi_packages_versions": {**PINNED, "jicofo": "latest"}},
     "to each of jitsi-meet-web, jitsi-meet-prosody, jicofo"),
    ({"jitsi_packages_key_file": "/nonexistent/key.asc"},
     "The signing key file /nonexistent/key.asc (jitsi_packages_key_file) is missing on the "
     "controller"),
    ({"jitsi_packages_key_fingerprint": OLD_FPR},
     f"must be ASCII-armored and hold exactly one primary key with the fingerprint {OLD_FPR}"
     f" (jitsi_packages_key_fingerprint); it holds {JITSI_FPR}"),
])
def test_preflight_names_each_bad_setting(settings, words) -> None:
    (problem,) = _problems(**settings)
    assert words in problem


def test_preflight_refuses_a_fingerprint_that_is_not_one() -> None:
    # The key file holds another fingerprint then, too.
    problems = _problems(jitsi_packages_key_fingerprint="0xB4D2D216F1FD7806")
    assert problems[0] == (
        "jitsi_packages_key_fingerprint must be the 40 hex digits of the signing key's "
        "fingerprint (spaces allowed), as `gpg --show-keys --with-fingerprint KEYFILE` prints "
        "it; it is 0xB4D2D216F1FD7806.")
    assert len(problems) == 2 and f"it holds {JITSI_FPR}" in problems[1]


def test_preflight_refuses_a_key_file_that_is_no_armored_key(tmp_path: Path) -> None:
    key = tmp_path / "key.asc"
    key.write_text("not a key\n")
    (problem,) = _problems(jitsi_packages_key_file=str(key))
    assert problem.endswith(
        "it holds no armored key. Replace the file with the repository's real key, or, for a "
        "mirror signed with its own key, set jitsi_packages_key_fingerprint to that key's "
        "fingerprint after checking it out of band.")


def test_preflight_reports_every_problem_at_once() -> None:
    problems = _problems(jitsi_packages_update_timeout=0,
                         jitsi_packages_repo_url="download.jitsi.org",
                         facts={"distribution": "Debian", "distribution_version": "11.9",
                                "distribution_major_version": "11"})
    assert len(problems) == 3
    assert problems[0] == ("The jitsi_packages role supports Debian 12 and 13; this host runs "
                           "Debian 11.9.")


# ------------------------------------------------------------------ what the preflight decides

NOTHING = dict.fromkeys([*PINNED, "jitsi-meet-web-config", "jitsi-meet-turnserver", "jitsi-meet"])
REPO = "Jitsi's apt repository https://download.jitsi.org (suite stable/)"


def _task(file: str, name: str) -> dict:
    (task,) = [t for t in _tasks("jitsi_packages", file) if t["name"].startswith(name)]
    return task


def _decide(probe: dict, installed: dict) -> dict:
    """The facts the preflight's decision sets for a probe's answer and what dpkg has."""
    task = _task("preflight.yml", "Decide what the install can do")
    t = templar("jitsi_packages", {
        **trusted(task["vars"]), "inventory_hostname": "meet1", "role_path": str(ROLE),
        "_jitsi_packages_probe": probe,
        "_jitsi_packages_current": {"versions": {**NOTHING, **installed}}})
    return {k: " ".join(str(t.template(trusted(v))).split())
            for k, v in task["ansible.builtin.set_fact"].items()}


def _probe(reachable: bool, error: str | None = None, **available: bool) -> dict:
    return {"reachable": reachable, "error": error,
            "available": {**dict.fromkeys(PINNED, reachable), **available}}


def test_an_answering_repository_with_the_pinned_set_is_no_problem() -> None:
    assert _decide(_probe(True), {}) == {"_jitsi_packages_already": "False",
                                         "_jitsi_packages_source_active": "True",
                                         "_jitsi_packages_problem": ""}


def test_an_unreachable_repository_is_named_with_apts_error() -> None:
    probe = _probe(False, "https://download.jitsi.org stable/ InRelease: 403")
    assert _decide(probe, {})["_jitsi_packages_problem"] == (
        f"{REPO} is unreachable from meet1: https://download.jitsi.org stable/ InRelease: 403")
    # The pinned set installed already: no problem, nothing to install.
    facts = _decide(probe, PINNED)
    assert facts["_jitsi_packages_problem"] == "" and facts["_jitsi_packages_already"] == "True"


def test_a_signature_apt_cannot_check_names_the_key() -> None:
    problem = _decide(_probe(False, "NO_PUBKEY B4D2D216F1FD7806"), {})["_jitsi_packages_problem"]
    assert problem.startswith(f"{REPO} answered meet1, but its signature cannot be verified "
                              f"with the key {JITSI_FPR} (")
    assert problem.endswith("jitsi-stable.asc): NO_PUBKEY B4D2D216F1FD7806")


def test_the_missing_pinned_versions_are_named() -> None:
    probe = _probe(True, **{"jicofo": False, "jitsi-meet-web": False})
    assert _decide(probe, {})["_jitsi_packages_problem"] == (
        f"{REPO} does not offer the pinned versions jitsi-meet-web=1.0.9365-1, "
        "jicofo=1.0-1189-1 (seen from meet1)")


def test_a_forbidden_package_installed_is_named_with_the_purge() -> None:
    task = _task("preflight.yml", "Assert that no package that rewrites")
    t = templar("jitsi_packages", {
        **trusted(task["vars"]), "inventory_hostname": "meet1",
        "_jitsi_packages_current": {"versions": {**NOTHING, "jitsi-meet-web-config": "1"}}})
    assert t.template(trusted("{{ _present }}")) == ["jitsi-meet-web-config"]
    message = " ".join(t.template(trusted(task["ansible.builtin.assert"]["fail_msg"])).split())
    assert message.startswith("jitsi-meet-web-config is installed on meet1: it rewrites the "
                              "nginx site")
    assert "(apt-get purge jitsi-meet-web-config)" in message


def test_after_the_install_dpkg_must_show_exactly_the_pinned_set() -> None:
    task = _task("install.yml", "Assert that exactly the pinned versions")
    check = task["ansible.builtin.assert"]

    def verdict(versions: dict) -> tuple[bool, str]:
        t = templar("jitsi_packages", {**trusted(task["vars"]), "_jitsi_packages_dpkg": {
            "versions": {**NOTHING, **versions}}})
        ok = all(t.template(trusted("{{ " + cond + " }}")) for cond in check["that"])
        return ok, " ".join(t.template(trusted(check["fail_msg"])).split())

    assert verdict(PINNED)[0]
    ok, message = verdict({**PINNED, "jicofo": "1.0-1100-1", "jitsi-meet": "2.0.11146-1"})
    assert not ok
    assert "'jicofo': '1.0-1100-1'" in message and message.endswith(
        "and jitsi-meet installed. Check the apt pins in "
        "/etc/apt/preferences.d/jitsi-sovereign-jitsi.pref and the repository's index.")


def test_the_preflight_entry_point_checks_the_main_options() -> None:
    specs = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    assert specs["preflight"]["options"] == specs["main"]["options"]
