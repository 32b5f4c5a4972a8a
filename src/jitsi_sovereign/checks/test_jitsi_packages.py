"""Jitsi's packages (role jitsi_packages): signing key, apt source, pins, versions.

Inside checks against jitsi_packages.json: the keyring on the host holds exactly the
key whose fingerprint was promised (the file is read back and fingerprinted here, in
pure Python: jitsi_sovereign.confcheck.openpgp); the apt source uses https and
Signed-By that keyring (in sources.list.d when the repository answered, else only as
the role's candidate, so that an unreachable repository never breaks apt); the pins
hold the promised versions and forbid jitsi-meet-web-config. With the packages
installed: each at its pinned version, jitsi-meet-web-config absent. Without them (the
lab: Jitsi's repository is unreachable): those two checks are skipped with the reason
the role recorded. Skipped as a whole when the inventory gives the host no domain
(site.yml deploys the Jitsi stack only with one).
"""

from __future__ import annotations

import re

import pytest

from jitsi_sovereign.checks.helpers import require_state, run_ok
from jitsi_sovereign.checks.target import Target
from jitsi_sovereign.confcheck import openpgp

NO_STACK = "no jitsi_sovereign_domain: the Jitsi stack is not deployed on this host"
PACKAGES = ["jitsi-meet-web", "jitsi-meet-prosody", "jicofo", "jitsi-videobridge2"]
# Never installed: it rewrites the nginx site and config.js that this project writes.
WEB_CONFIG = "jitsi-meet-web-config"


# ------------------------------------------------------------------ parsers


def parse_deb822(text: str) -> list[dict[str, str]]:
    """Stanzas of a deb822 file (sources, preferences): {field: value}, comments dropped,
    continuation lines joined with a space. Field names keep their case."""
    stanzas: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last = None
    for raw in text.splitlines():
        line = raw.rstrip()
        if line.startswith("#"):
            continue
        if not line.strip():
            if current:
                stanzas.append(current)
            current, last = {}, None
            continue
        if line[0] in " \t" and last is not None:
            current[last] = (current[last] + " " + line.strip()).strip()
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"not a deb822 field line: {line!r}")
        last = name.strip()
        current[last] = value.strip()
    if current:
        stanzas.append(current)
    return stanzas


def field(stanza: dict[str, str], name: str) -> str | None:
    """A field by name, case-insensitively (deb822 field names are case-insensitive)."""
    for key, value in stanza.items():
        if key.lower() == name.lower():
            return value
    return None


def pins(text: str) -> dict[str, tuple[str, int]]:
    """apt preferences -> {package: (pin, priority)} (one entry per named package)."""
    out: dict[str, tuple[str, int]] = {}
    for stanza in parse_deb822(text):
        names, pin = field(stanza, "Package"), field(stanza, "Pin")
        prio = field(stanza, "Pin-Priority")
        if names is None or pin is None or prio is None:
            continue
        for name in names.split():
            out[name] = (pin, int(prio))
    return out


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="session")
def pkg_state(target: Target) -> dict:
    if not (target.spec.vars or {}).get("jitsi_sovereign_domain"):
        pytest.skip(NO_STACK)
    return require_state(target, "jitsi_packages")


def _read(target: Target, path: str) -> str:
    return run_ok(target, "cat %s", path, what=f"reading {path}")


def _require_installed(state: dict) -> None:
    if not state.get("installed"):
        reason = state.get("reason") or "no reason given"
        pytest.skip(f"Jitsi's packages are not installed: {reason}")


# ------------------------------------------------------------------ checks


def test_keyring_fingerprint(target: Target, pkg_state: dict) -> None:
    """The keyring apt uses holds exactly the promised key (fingerprinted here)."""
    path = pkg_state["keyring"]
    want = openpgp.normalize_fingerprint(pkg_state["key_fingerprint"])
    try:
        have = openpgp.fingerprints(_read(target, path))
    except openpgp.OpenPGPError as exc:
        pytest.fail(f"{path} is not a usable OpenPGP key: {exc}", pytrace=False)
    assert have == [want], f"{path} holds {have}, promised exactly [{want}]"


def test_source_https_signed_by(target: Target, pkg_state: dict) -> None:
    """The Jitsi source: https, Signed-By the role's keyring, the promised repository;
    live in sources.list.d exactly when the repository answered."""
    active = bool(pkg_state.get("source_active"))
    live = pkg_state["sources"]
    result = target.run("test -e %s", live)
    exists = result.rc == 0
    if active:
        assert exists, f"the repository answered but {live} is missing"
    else:
        assert not exists, (f"{live} is in place although the repository did not answer "
                            "(every `apt-get update` on the host would fail on it)")
    path = live if active else pkg_state["sources_candidate"]
    stanzas = parse_deb822(_read(target, path))
    assert len(stanzas) == 1, f"{path}: {len(stanzas)} stanzas, expected one"
    stanza = stanzas[0]
    uris = (field(stanza, "URIs") or "").split()
    promised = pkg_state["repository"]
    assert uris == [promised], f"{path}: URIs {uris}, promised {promised}"
    assert all(uri.startswith("https://") for uri in uris), f"{path}: not https: {uris}"
    assert field(stanza, "Signed-By") == pkg_state["keyring"], (
        f"{path}: Signed-By {field(stanza, 'Signed-By')!r}, expected {pkg_state['keyring']}")
    assert field(stanza, "Suites") == pkg_state["suite"]
    assert (field(stanza, "Enabled") or "yes").lower() == "yes"
    # No option that turns signature checking off.
    for name in ("Trusted", "Allow-Insecure", "Allow-Weak", "Allow-Downgrade-To-Insecure"):
        assert (field(stanza, name) or "no").lower() == "no", f"{path}: {name} is set"


def test_pins(target: Target, pkg_state: dict) -> None:
    """The preferences pin the promised versions and forbid jitsi-meet-web-config."""
    path = pkg_state["preferences"]
    have = pins(_read(target, path))
    for name, version in pkg_state["versions"].items():
        assert have.get(name) == (f"version {version}", 1001), (
            f"{path}: {name} pinned {have.get(name)}, promised version {version} at 1001")
    assert have.get(WEB_CONFIG, ("", 0))[1] < 0, f"{path}: {WEB_CONFIG} is not pinned below 0"


def test_pinned_versions_installed(target: Target, pkg_state: dict) -> None:
    _require_installed(pkg_state)
    out = run_ok(target, "dpkg-query -W -f '${Package} ${db:Status-Abbrev} ${Version}\\n' "
                 + " ".join(PACKAGES) + " 2>/dev/null; true", what="dpkg-query")
    have = {f[0]: f[2] for f in (line.split() for line in out.splitlines())
            if len(f) == 3 and f[1].startswith("ii")}
    want = {name: pkg_state["versions"][name] for name in PACKAGES}
    assert have == want, f"installed {have}, pinned {want}"


def test_web_config_not_installed(target: Target, pkg_state: dict) -> None:
    _require_installed(pkg_state)
    result = target.run("dpkg-query -W -f '${db:Status-Abbrev}' %s", WEB_CONFIG)
    status = result.stdout.strip() if result.rc == 0 else ""
    assert not re.match(r"^[ihtfuw]i", status), f"{WEB_CONFIG} is installed ({status})"
