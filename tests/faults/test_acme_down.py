"""The ACME server down at renewal time (issue 14, faults survived on purpose).

The lab's ACME server (pebble) is shared by every lab host: it is not stopped. Instead the
host itself can no longer reach it: a table of its own in the host's nftables rejects
the host's connections to the ACME address and port with a TCP reset, what a client sees
when the server's process is down. Then certbot.service runs as certbot.timer starts it,
with the renewal due (a runtime drop-in, gone at the next boot, adds --force-renewal to
its own command line).

Promises: the old certificate stays served (same fingerprint on 443), nginx is untouched
(same main process, same workers: not even reloaded), the failure is visible in the
journal (certbot.service failed, certbot's message) and in verify (check
tls.last_renewal fails and says why). Then the ACME server is reachable again: the
renewal works (a new certificate served, nginx reloaded by the deploy hook, not
restarted), and the check passes.
"""

from __future__ import annotations

import re
import shlex
import time

import pytest

from . import faultlib

TABLE = "jsov_faults_acme"
DROPIN_DIR = "/run/systemd/system/certbot.service.d"
DROPIN = f"{DROPIN_DIR}/zz-jsov-faults-force-renewal.conf"
CHECK_ID = "verify:tls.last_renewal"


def _acme_endpoint(host) -> tuple[str, int]:
    """The ACME server's address and port, from certbot's renewal configuration."""
    conf = faultlib.sh(host, "cat /etc/letsencrypt/renewal/*.conf").stdout
    found = re.search(r"^server\s*=\s*https://\[?([^\]/:]+)\]?(?::(\d+))?/", conf, re.M)
    assert found, "no ACME server in /etc/letsencrypt/renewal/*.conf"
    return found.group(1), int(found.group(2) or 443)


def _certbot_command(host) -> str:
    """certbot.service's own command line (``ExecStart``), as the timer runs it."""
    out = faultlib.unit(host, "certbot.service", "ExecStart")["ExecStart"]
    found = re.search(r"argv\[\]=([^;]+?) ;", out)
    assert found, f"cannot read certbot.service's ExecStart: {out}"
    return found.group(1).strip()


def _nginx(host) -> tuple[str, str]:
    """nginx's main PID and its workers' PIDs (a reload replaces the workers)."""
    out = faultlib.sh(host, "p=$(systemctl show -p MainPID --value nginx.service); "
                      "echo $p; pgrep -d ' ' -P $p | tr ' ' '\\n' | sort -n | tr '\\n' ' '")
    main, workers = [*out.stdout.splitlines(), "", ""][:2]
    return main.strip(), workers.strip()


def _verify(host) -> tuple[int, dict]:
    return faultlib.verify(host, CHECK_ID)


def _restore(host) -> None:
    faultlib.sh(host, f"nft delete table inet {TABLE} 2>/dev/null; rm -f {DROPIN}; "
                "systemctl daemon-reload; systemctl reset-failed certbot.service", check=False)


def test_acme_down_at_renewal(lab_host):
    """ACME server unreachable: old certificate served, nginx untouched, failure in the
    journal and in verify; reachable again: renewal works, verify passes."""
    if faultlib.state(lab_host, "tls").get("mode") != "acme":
        pytest.skip("tls_mode is not acme on this host: no renewal")
    address, port = _acme_endpoint(lab_host)
    command = _certbot_command(lab_host)
    _restore(lab_host)  # leftovers of an interrupted run
    served = faultlib.wait_for("HTTPS answers before the test", lambda: faultlib.https_ok(lab_host),
                               timeout=10)
    nginx = _nginx(lab_host)
    since = faultlib.sh(lab_host, "date '+%Y-%m-%d %H:%M:%S'").stdout.strip()
    try:
        faultlib.sh(lab_host, f"""
nft -f - <<'NFT'
table inet {TABLE} {{
  chain output {{
    type filter hook output priority 0; policy accept;
    ip daddr {address} tcp dport {port} reject with tcp reset
  }}
}}
NFT
mkdir -p {DROPIN_DIR}
printf '[Service]\\nExecStart=\\nExecStart=%s --force-renewal\\n' {shlex.quote(command)} > {DROPIN}
systemctl daemon-reload""")
        started = faultlib.sh(lab_host, "systemctl start certbot.service", check=False,
                              timeout=300)
        props = faultlib.unit(lab_host, "certbot.service", "Result", "ExecMainStatus",
                              "ActiveState")
        journal = faultlib.sh(lab_host, f"journalctl -q -u certbot.service --since "
                              f"{shlex.quote(since)} -o cat --no-pager").stdout

        assert started.returncode != 0 and props["Result"] != "success", (
            f"certbot.service succeeded with the ACME server unreachable: {props}")
        assert props["ActiveState"] == "failed", f"certbot.service is not failed: {props}"
        assert re.search(r"(?i)failed to renew|connection (refused|reset)|error", journal), (
            f"the journal of certbot.service has no failure message:\n{journal[-1000:]}")
        assert faultlib.https_ok(lab_host) == served, (
            "the certificate served on 443 changed after a failed renewal")
        assert _nginx(lab_host) == nginx, (
            f"nginx was reloaded or restarted by a failed renewal: {nginx} -> "
            f"{_nginx(lab_host)} (main PID, workers)")
        rc, finding = _verify(lab_host)
        assert finding["status"] == "failed" and rc != 0, (
            f"verify does not report the failed renewal: {CHECK_ID} is "
            f"{finding['status']} ({finding.get('reason')}), verify rc={rc}")

        # The ACME server back: the renewal (still due) works again.
        faultlib.sh(lab_host, f"nft delete table inet {TABLE}")
        faultlib.sh(lab_host, "systemctl start certbot.service", timeout=300)
        renewed = faultlib.wait_for("the renewed certificate served on 443",
                                    lambda: (faultlib.https_ok(lab_host) or served) != served
                                    and faultlib.https_ok(lab_host), timeout=15, interval=0.3)
        assert renewed != served
        after = _nginx(lab_host)
        assert after[0] == nginx[0], (
            f"nginx was restarted by the renewal (main PID {nginx[0]} -> {after[0]}), "
            "a reload was wanted")
        faultlib.sh(lab_host, f"rm -f {DROPIN}; systemctl daemon-reload")
        time.sleep(0.1)
        rc, finding = _verify(lab_host)
        assert finding["status"] == "passed", (
            f"after a successful renewal {CHECK_ID} is {finding['status']}: "
            f"{finding.get('reason')}")
        assert rc == 0, f"verify failed after the renewal worked again (rc={rc})"
    finally:
        _restore(lab_host)
        # A failure above may leave certbot.service failed: run it once more, unforced
        # (nothing due: it succeeds without asking the ACME server for anything).
        faultlib.sh(lab_host, "systemctl start certbot.service", check=False, timeout=300)
