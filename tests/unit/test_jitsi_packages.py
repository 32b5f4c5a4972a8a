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
from role_files import load_source, plugin, site_roles, state_request

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
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    options = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())[
        "argument_specs"]["main"]["options"]
    assert set(defaults) == set(options)
    for name, value in defaults.items():
        assert options[name]["default"] == value, name
    assert defaults["jitsi_packages_key_fingerprint"] == JITSI_FPR
    assert set(defaults["jitsi_packages_versions"]) == set(checks.PACKAGES)


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
    have = checks.pins(_render("jitsi-sovereign-jitsi.pref.j2"))
    for name, version in defaults["jitsi_packages_versions"].items():
        assert have[name] == (f"version {version}", 1001)
    for name in ("jitsi-meet-web-config", "jitsi-meet-turnserver", "jitsi-meet"):
        assert have[name] == ("version *", -1)


def test_rendered_source_read_back_by_the_check() -> None:
    stanzas = checks.parse_deb822(_render("jitsi-sovereign-jitsi.sources.j2"))
    assert stanzas == [{"Types": "deb", "URIs": "https://download.jitsi.org", "Suites": "stable/",
                        "Signed-By": "/etc/apt/keyrings/jitsi-sovereign-jitsi.asc"}]
    mirror = checks.parse_deb822(_render("jitsi-sovereign-jitsi.sources.j2",
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
