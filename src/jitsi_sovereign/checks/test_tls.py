"""TLS certificate on the host: files, modes, names, validity, renewal (role tls).

Skipped as a whole when the inventory gives the host no ``jitsi_sovereign_domain``
(site.yml then deploys neither tls nor nginx).
"""

from __future__ import annotations

import datetime

import pytest

from jitsi_sovereign.checks import parsers, tlsparse
from jitsi_sovereign.checks.helpers import domain_of, run_ok, stats, units

RENEWAL_HOOK_DIR = "/etc/letsencrypt/renewal-hooks/deploy"


def _paths(tls_state: dict) -> tuple[str, str]:
    return (tls_state.get("cert_path") or tlsparse.CERT_PATH,
            tls_state.get("key_path") or tlsparse.KEY_PATH)


def _acme_only(tls_state: dict) -> None:
    if tls_state.get("mode") != "acme":
        pytest.skip(f"tls_mode {tls_state.get('mode')}: no renewal by certbot")


def test_files(target, tls_state):
    """certificate and key exist, the key 0600 root:root, the certificate root-owned."""
    cert, key = _paths(tls_state)
    assert (cert, key) == (tlsparse.CERT_PATH, tlsparse.KEY_PATH), (
        f"tls.json names {cert} and {key}, the contract is {tlsparse.CERT_PATH} and "
        f"{tlsparse.KEY_PATH}")
    # -L: the contract paths may be links into certbot's live directory
    found = stats(target, "-L", cert, key)
    assert cert in found and found[cert].kind == "regular file", f"{cert} is missing"
    assert key in found and found[key].kind == "regular file", f"{key} is missing"
    k = found[key]
    assert (k.mode, k.owner, k.group) == (0o600, "root", "root"), (
        f"{key} is {k.mode:04o} {k.owner}:{k.group}, wants 0600 root:root")
    c = found[cert]
    assert c.owner == "root" and not c.mode & 0o022, (
        f"{cert} is {c.mode:04o} {c.owner}:{c.group}: others may change it")


def test_key_matches(target, tls_state):
    """the private key belongs to the certificate (public keys compared on the host)."""
    cert, key = _paths(tls_state)
    out = run_ok(target,
                 "openssl x509 -in %s -noout -pubkey | openssl pkey -pubin -outform DER "
                 "| sha256sum && openssl pkey -in %s -pubout -outform DER | sha256sum",
                 cert, key, what="comparing the public keys of certificate and key")
    digests = [line.split()[0] for line in out.splitlines() if line.strip()]
    assert len(digests) == 2 and digests[0] == digests[1], (
        f"{key} is not the key of {cert}")


def test_names(target, tls_state, tls_cert):
    """the certificate covers the meeting domain and every name of tls.json."""
    domains = [str(d) for d in tls_state.get("domains") or []]
    domain = domain_of(target, "tls")
    assert domain in domains, f"tls.json domains {domains} lack {domain}"
    missing = [d for d in domains if not tls_cert.covers(d)]
    assert not missing, (f"the certificate (names {tls_cert.names}) does not cover "
                         f"{', '.join(missing)}")


def test_not_expired(tls_cert):
    """the certificate is not expired."""
    left = tls_cert.not_after - datetime.datetime.now(datetime.UTC)
    assert left.total_seconds() > 0, f"the certificate expired on {tls_cert.not_after:%Y-%m-%d}"


def test_certbot_timer(target, tls_state):
    """certbot.timer is enabled and active (acme: automatic renewal)."""
    _acme_only(tls_state)
    props = units(target, "certbot.timer").get("certbot.timer") or {}
    state = (props.get("UnitFileState"), props.get("ActiveState"))
    assert state == ("enabled", "active"), (
        f"certbot.timer is {state[0] or 'missing'}/{state[1] or '?'}, wants enabled/active")


def test_deploy_hook(target, tls_state):
    """a certbot deploy hook (root-owned, executable) reloads nginx after a renewal."""
    _acme_only(tls_state)
    out = run_ok(target,
                 "for f in %s/*; do [ -f \"$f\" ] || continue; "
                 "printf '%%s|' \"$f\"; stat --printf '%%a|%%U|' \"$f\"; "
                 # the hook, and the scripts it names (it may exec a reload script)
                 "{ cat \"$f\"; for p in $(grep -o '/[A-Za-z0-9_./-]*' \"$f\"); do "
                 "[ -f \"$p\" ] && [ -x \"$p\" ] && cat \"$p\"; done; } "
                 "| grep -c nginx || true; done", RENEWAL_HOOK_DIR,
                 what=f"listing {RENEWAL_HOOK_DIR}")
    hooks = []
    for line in out.splitlines():
        parts = line.split("|")
        if len(parts) == 4:
            path, mode, owner, nginx = parts[0], int(parts[1], 8), parts[2], parts[3]
            hooks.append((path, mode, owner, nginx.strip() not in ("", "0")))
    assert hooks, f"no deploy hook in {RENEWAL_HOOK_DIR}: a renewal reloads nothing"
    bad = [f"{p} is {m:04o} {o}" for p, m, o, _ in hooks
           if o != "root" or not m & 0o100 or m & 0o022]
    assert not bad, "deploy hook not root-owned and executable only by root: " + "; ".join(bad)
    assert any(n for *_, n in hooks), (
        f"no deploy hook in {RENEWAL_HOOK_DIR} (or script it runs) mentions nginx: "
        f"{[h[0] for h in hooks]}")


# The last lines of certbot.service's journal that say why a renewal failed.
_RENEWAL_ERROR = r"error|fail|could not|unable|refused|timed out"


def test_last_renewal(target, tls_state):
    """the last automatic renewal attempt (certbot.service, as certbot.timer starts it) did
    not fail: a failed one leaves the old certificate to expire unnoticed."""
    _acme_only(tls_state)
    out = run_ok(target, "systemctl show -p Id,LoadState,Result,ExecMainStatus,"
                 "ExecMainExitTimestamp certbot.service", what="systemctl show certbot.service")
    props = parsers.parse_systemctl_show(out).get("certbot.service") or {}
    assert props.get("LoadState") == "loaded", (
        f"certbot.service is {props.get('LoadState') or 'missing'}: nothing renews the "
        "certificate; deploy again (role tls installs certbot and its timer)")
    ran = props.get("ExecMainExitTimestamp") or ""
    if not ran:
        pytest.skip("certbot.service has not run since the host started: no renewal "
                    "attempt to judge yet (certbot.timer starts it twice a day)")
    if props.get("Result") == "success":
        return
    why = run_ok(target, "journalctl -q -u certbot.service -o cat -n 40 --no-pager "
                 "| grep -iE %s | tail -n 2 || true", _RENEWAL_ERROR,
                 what="journalctl -u certbot.service").strip().replace("\n", " / ")
    pytest.fail(f"the last renewal attempt failed ({ran}): certbot.service result "
                f"{props.get('Result')}, exit status {props.get('ExecMainStatus')}"
                f"{': ' + why[-300:] if why else ''}. The certificate was not renewed. Fix: "
                "journalctl -u certbot.service says why (ACME server reachable from the host? "
                "port 80 open for HTTP-01?), fix it, then systemctl start certbot.service",
                pytrace=False)
