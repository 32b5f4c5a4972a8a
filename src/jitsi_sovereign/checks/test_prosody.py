"""prosody on the host: configuration check, listening surface, SASL per domain (role prosody).

The XMPP probe (``checks/xmpp.py``) runs on the host itself: prosody's client port
listens on loopback only. Skipped as a whole when the inventory gives the host no
``jitsi_sovereign_domain`` (site.yml then does not deploy prosody).

What the main domain may offer is a baseline per auth mode, hard-coded here (not read
from the state file): internal = PLAIN and SCRAM, ldap = PLAIN (the password goes to the
directory), token = ANONYMOUS carrying the JWT (Jitsi's mod_auth_token); never
OAUTHBEARER (prosody 13's own tokens), DIGEST-MD5, CRAM-MD5, X-OAUTH2 or EXTERNAL.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jitsi_sovereign import paths
from jitsi_sovereign.checks import xmpp
from jitsi_sovereign.checks.helpers import require_web_state, run_ok, stats

_PROBE_SOURCE = Path(xmpp.__file__).read_text()
# The prosody role's own probe (its handler runs it after every restart).
_MODULES_SOURCE = (paths.roles_dir() / "prosody" / "files" / "modules_loaded.py").read_text()

MECHANISMS = {
    "internal": {"PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-1-PLUS"},
    "ldap": {"PLAIN"},
    "token": {"ANONYMOUS"},
}
NEVER = {"OAUTHBEARER", "DIGEST-MD5", "CRAM-MD5", "X-OAUTH2", "EXTERNAL"}

# Compares prosody's external_service_secret with coturn's static-auth-secret on the host
# (as root) and prints only same / differ / missing-<which>: never a secret.
_COMPARE_SECRETS = (
    "import re, sys\n"
    "def read(path):\n"
    "    try:\n"
    "        return open(path, encoding='utf-8').read()\n"
    "    except OSError:\n"
    "        return ''\n"
    "p = re.search(r'^\\s*external_service_secret\\s*=\\s*\"([^\"]*)\"', read(sys.argv[1]), re.M)\n"
    "c = re.search(r'^\\s*static-auth-secret\\s*=\\s*(\\S+)', read(sys.argv[2]), re.M)\n"
    "print('missing-prosody' if not p else 'missing-coturn' if not c\n"
    "      else 'same' if p.group(1) == c.group(1) else 'differ')\n"
)


@pytest.fixture(scope="module")
def prosody_state(target) -> dict:
    return require_web_state(target, "prosody")


@pytest.fixture(scope="module")
def tcp_sockets(target, prosody_state) -> list[tuple[str, int]]:
    """(address, port) of every listening TCP socket (``ss -Hltn``, read once)."""
    out = run_ok(target, "ss -Hltn", what="ss -Hltn")
    found = []
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 4:
            address, _, port = fields[3].rpartition(":")
            if port.isdigit():
                found.append((address.strip("[]").split("%", 1)[0], int(port)))
    return found


def _probe(target, domain: str, mechanism: str | None = "ANONYMOUS") -> dict:
    request = json.dumps({"domain": domain, "mechanism": mechanism})
    out = run_ok(target, "python3 -c %s %s", _PROBE_SOURCE, request,
                 what=f"XMPP probe of {domain} on 127.0.0.1:5222")
    result = json.loads(out)
    if result.get("error"):
        pytest.fail(f"XMPP probe of {domain}: {result['error']}", pytrace=False)
    return result


def test_config_check(target, prosody_state):
    """`prosodyctl check config` passes on the whole configuration."""
    run_ok(target, "prosodyctl --root check config", what="prosodyctl check config")


def test_every_enabled_module_is_loaded(target, prosody_state):
    """Every module the configuration enables is loaded by the running prosody (a module
    that cannot load passes `prosodyctl check config`: prosody runs without it)."""
    # token mode without Jitsi's mod_auth_token (the lab): missing on purpose, recorded.
    known = {} if not _token_without_module(prosody_state) else {
        "auth_token": prosody_state.get("auth_reason", "")}
    result = json.loads(run_ok(target, "python3 -c %s %s", _MODULES_SOURCE,
                               json.dumps({"unavailable": known}),
                               what="prosodyctl shell module:list()"))
    assert not result.get("error"), result.get("error")
    assert result.get("hosts"), "no VirtualHost nor Component found in prosody's configuration"
    missing = result.get("missing") or {}
    assert not missing, (
        "not loaded: " + "; ".join(f"{host}: {', '.join(mods)}" for host, mods in missing.items())
        + (" (" + " | ".join(result.get("errors") or []) + ")" if result.get("errors") else ""))


def test_no_s2s(tcp_sockets):
    """nothing listens on 5269 (server-to-server) or 5281 (prosody's direct HTTPS)."""
    bad = sorted({f"{a}:{p}" for a, p in tcp_sockets if p in (5269, 5281)})
    assert not bad, f"listening on {', '.join(bad)}: s2s / prosody HTTPS must be off"


@pytest.mark.parametrize("port", [5222, 5280])
def test_loopback_only(tcp_sockets, prosody_state, port):
    """client (5222) and HTTP (5280) listen, on loopback addresses only."""
    addresses = sorted({a for a, p in tcp_sockets if p == port})
    assert addresses, f"nothing listens on {port}: is prosody running?"
    public = [a for a in addresses if a not in ("127.0.0.1", "::1")]
    assert not public, f"port {port} listens on {', '.join(public)}, wants loopback only"


def _auth(state: dict) -> str:
    return str(state.get("auth") or "internal")


def _token_without_module(state: dict) -> bool:
    return _auth(state) == "token" and state.get("auth_runs") is False


def test_site_config_not_world_readable(target, prosody_state):
    """the hosts file (it holds the TURN secret) is root:prosody 0640 at most."""
    files = [f for f in prosody_state.get("config_files") or []
             if "/conf.d/" in f or "/conf.avail/" in f]
    assert files, "prosody.json names no conf.avail or conf.d file"
    found = stats(target, *files)
    for path in files:
        assert path in found, f"{path} is missing"
        st = found[path]
        assert st.owner == "root" and not st.mode & 0o027, (
            f"{path} is {st.mode:04o} {st.owner}:{st.group}, wants 0640 root:prosody")


def test_no_mechanism_before_tls(target, prosody_state):
    """the main domain offers STARTTLS and no SASL mechanism before it (c2s_require_encryption)."""
    result = _probe(target, prosody_state["domain"], None)
    assert result["starttls_offered"], "STARTTLS not offered on the main domain"
    assert not result["mechanisms_before_tls"], (
        f"SASL offered before TLS: {result['mechanisms_before_tls']}")
    assert result["tls_version"] in ("TLSv1.2", "TLSv1.3"), f"TLS {result['tls_version']}"


def test_site_config_linked_from_conf_d(target, prosody_state):
    """conf.d/<domain>.cfg.lua is a link to the role's conf.avail/<domain>.cfg.lua (the path
    jitsi-meet-prosody's postinst leaves alone), and no stale meet.cfg.lua is loaded."""
    link = prosody_state.get("config_link")
    if not link:
        pytest.fail("prosody.json names no config_link (role older than this check?)",
                    pytrace=False)
    avail = [f for f in prosody_state.get("config_files") or [] if "/conf.avail/" in f]
    out = run_ok(target, "readlink %s || true", link, what=f"readlink {link}").strip()
    assert avail and out == avail[0], f"{link} -> {out or '(not a link)'}, wants {avail}"
    stale = target.run("test -e /etc/prosody/conf.d/meet.cfg.lua")
    assert stale.rc != 0 or link.endswith("/meet.cfg.lua"), (
        "/etc/prosody/conf.d/meet.cfg.lua is still there (earlier layout)")


def test_main_domain_mechanisms(target, prosody_state):
    """after STARTTLS the main domain offers only the auth mode's mechanisms (never
    OAUTHBEARER, DIGEST-MD5, ...); token mode without Jitsi's module offers none."""
    domain, mode = prosody_state["domain"], _auth(prosody_state)
    result = _probe(target, domain, None)
    offered = set(result["mechanisms"])
    if _token_without_module(prosody_state):
        assert not offered and result.get("stream_error"), (
            f"token mode without mod_auth_token: {domain} should offer no login, offers "
            f"{sorted(offered)}")
        return
    assert offered, f"{domain} offers no SASL mechanism ({result.get('stream_error')})"
    assert not offered & NEVER, f"{domain} offers {sorted(offered & NEVER)}"
    allowed = MECHANISMS.get(mode, set())
    assert offered <= allowed, (
        f"{domain} ({mode}) offers {sorted(offered - allowed)} beyond {sorted(allowed)}")
    # What the state file promises is offered (the -PLUS variants depend on the TLS version).
    promised = {m for m in prosody_state.get("sasl_mechanisms") or [] if not m.endswith("-PLUS")}
    assert promised <= offered, (
        f"prosody.json promises {sorted(promised - offered)}, {domain} does not offer it")


def test_anonymous_refused_on_main_domain(target, prosody_state):
    """after STARTTLS, the main domain refuses an anonymous login (token mode: ANONYMOUS
    is how a JWT arrives, so a login without a token must be refused)."""
    domain = prosody_state["domain"]
    result = _probe(target, domain)
    if _token_without_module(prosody_state):
        assert result["auth"] is None and result.get("stream_error"), (
            f"{domain} let the probe go on to authenticate: {result}")
        return
    if _auth(prosody_state) != "token":
        assert "ANONYMOUS" not in result["mechanisms"], (
            f"{domain} offers ANONYMOUS: anyone could open rooms ({result['mechanisms']})")
    assert result["auth"]["result"] == "failure", f"{domain} accepted an anonymous login"
    assert result["auth"]["condition"] in ("invalid-mechanism", "mechanism-too-weak",
                                           "not-authorized"), result["auth"]


def test_token_auth_available(target, prosody_state):
    """token mode: Jitsi's mod_auth_token is installed where prosody loads it."""
    if _auth(prosody_state) != "token":
        pytest.skip(f"prosody authenticates with {_auth(prosody_state)!r}, not token")
    if prosody_state.get("auth_runs") is False:
        pytest.skip(prosody_state.get("auth_reason") or "token auth cannot run on this host")
    path = "/usr/share/jitsi-meet/prosody-plugins/mod_auth_token.lua"
    assert target.run("test -f %s", path).rc == 0, f"{path} is missing"


# What Jitsi's token modules do with their libraries (token/util.lib.lua and
# luajwtjitsi.lib.lua, jitsi/jitsi-meet resources/prosody-plugins): base64url, inspect,
# JSON, HMAC-SHA256. Run in prosody's own interpreter, so a library shipped for another
# Lua version only (Debian's lua-basexx, lua-inspect) fails here as it would in prosody.
_TOKEN_LUA = (
    'local b = require"basexx" '
    'assert(b.from_url64(b.to_url64("jitsi")) == "jitsi", "basexx round trip") '
    'assert(type(require"inspect"({})) == "string", "inspect") '
    'assert(require"cjson.safe".decode("{\\"a\\":1}").a == 1, "cjson.safe") '
    'assert(#require"openssl.hmac".new("k", "sha256"):final("d") == 32, "openssl.hmac") '
    'print("ok")'
)


def test_token_lua_libraries(target, prosody_state):
    """token mode: basexx, inspect, cjson.safe and openssl.hmac (Jitsi's token modules) load
    and work in the Lua interpreter prosody runs (its /usr/bin/prosody shebang)."""
    if _auth(prosody_state) != "token":
        pytest.skip(f"prosody authenticates with {_auth(prosody_state)!r}: Jitsi's token "
                    "libraries are not needed")
    shebang = run_ok(target, "head -n 1 /usr/bin/prosody", what="head -1 /usr/bin/prosody")
    words = shebang.strip().removeprefix("#!").split()
    interpreter = words[-1] if words else ""
    assert interpreter.startswith("lua"), f"/usr/bin/prosody starts with {shebang.strip()!r}"
    want = prosody_state.get("token_lua")
    assert not want or want == interpreter, (
        f"prosody runs {interpreter}, the role made the token libraries loadable by {want}")
    result = target.run("%s -e %s", interpreter, _TOKEN_LUA)
    assert result.rc == 0 and result.stdout.strip() == "ok", (
        f"{interpreter} cannot load Jitsi's token libraries: "
        f"{(result.stderr or result.stdout).strip()}")


def test_token_log_kept_briefly(target, prosody_state):
    """token mode: prosody logs to one file rotated daily and kept the days the role promised
    (Jitsi's mod_token_verification writes refused tokens into it whole)."""
    log = prosody_state.get("token_log")
    if _auth(prosody_state) != "token":
        pytest.skip(f"prosody authenticates with {_auth(prosody_state)!r}: no token is logged")
    assert log, "token mode, but prosody.json records no token_log (deploy again)"
    main = run_ok(target, "cat /etc/prosody/prosody.cfg.lua", what="read prosody.cfg.lua")
    sinks = main.split("\nlog = {", 1)[1].split("}", 1)[0] if "\nlog = {" in main else ""
    assert f'"{log["path"]}"' in sinks and ".err" not in sinks, (
        f"prosody.cfg.lua does not log to {log['path']} alone: {' '.join(sinks.split())!r}")
    rotation = run_ok(target, "cat %s", log["logrotate"], what=f"read {log['logrotate']}")
    words = [line.split() for line in rotation.splitlines() if not line.lstrip().startswith("#")]
    assert ["daily"] in words and ["rotate", str(int(log["days"]) - 1)] in words, (
        f"{log['logrotate']} does not rotate daily keeping {log['days']} day(s)")
    run_ok(target, "logrotate --debug %s", log["logrotate"],
           what=f"logrotate --debug {log['logrotate']}")


def test_turn_secret_shared_with_coturn(target, prosody_state):
    """prosody's external_service_secret is coturn's static-auth-secret (compared on the
    host as root; neither is ever printed)."""
    coturn = require_web_state(target, "coturn")
    files = [f for f in prosody_state.get("config_files") or [] if "/conf.avail/" in f
             or "/conf.d/" in f]
    assert files, "prosody.json names no hosts file"
    out = run_ok(target, "python3 -c %s %s %s", _COMPARE_SECRETS, files[0],
                 coturn.get("conf") or "/etc/turnserver.conf",
                 what="comparing the TURN secrets").strip()
    assert out == "same", ("prosody's external_service_secret and coturn's static-auth-secret "
                           + ("differ" if out == "differ" else f"cannot be compared: {out}"))


def test_component_accounts(target, prosody_state):
    """focus@auth.<domain> (jicofo) and jvb@auth.<domain> (videobridge) exist."""
    accounts = prosody_state.get("component_accounts")
    if not accounts:
        pytest.fail("prosody.json names no component_accounts (role older than this check?)",
                    pytrace=False)
    from jitsi_sovereign.users import storage_name

    missing = []
    for jid in accounts:
        user, _, host = jid.partition("@")
        path = f"/var/lib/prosody/{storage_name(host)}/accounts/{storage_name(user)}.dat"
        if target.run("test -f %s", path).rc != 0:
            missing.append(jid)
    assert not missing, f"missing accounts: {', '.join(missing)}"


def test_jitsi_components(target, prosody_state):
    """with Jitsi's modules: lobby, brewery (internal.auth) and focus components configured."""
    if not prosody_state.get("jitsi_modules"):
        pytest.skip("Jitsi's prosody modules are not loaded: "
                    + str(prosody_state.get("jitsi_modules_reason") or "not installed"))
    files = [f for f in prosody_state.get("config_files") or [] if "/conf.avail/" in f]
    for component in prosody_state.get("jitsi_components") or []:
        found = target.run("grep -qF %s %s", f'Component "{component}"', files[0])
        assert found.rc == 0, f"{component} is not configured in {files[0]}"


def test_anonymous_refused_on_auth_domain(target, prosody_state):
    """the components' domain (auth.<domain>) refuses ANONYMOUS too."""
    domain = prosody_state.get("auth_domain") or f"auth.{prosody_state['domain']}"
    result = _probe(target, domain)
    assert result["auth"]["result"] == "failure", f"{domain} accepted an anonymous login"


def test_anonymous_on_guest_domain(target, prosody_state):
    """the guest domain offers ANONYMOUS (only) and lets a guest in."""
    if not prosody_state.get("guests_enabled"):
        pytest.skip("prosody_guests_enabled is false: no guest domain")
    domain = prosody_state["guest_domain"]
    result = _probe(target, domain)
    assert result["mechanisms"] == ["ANONYMOUS"], (
        f"{domain} offers {result['mechanisms']}, wants ANONYMOUS only")
    assert result["auth"]["result"] == "success", f"{domain} refused a guest: {result['auth']}"
