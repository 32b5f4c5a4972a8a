"""Deliberate weakenings of a deployed lab host, each put back on exit (even on failure).

    with weaken.old_tls(lab_host):
        ...  # nginx accepts TLS 1.0 and 1.1 here

Each is a context manager built on ``edited(host, path, transform, reload)``: the file is
copied aside on the host first (``<path>.jsov-weaken``, mode and owner kept), rewritten
with ``transform(text)`` (which must change it), the service reloaded; on exit the copy
is moved back, the service reloaded again, and the file read back (it must be what it
was). Reuse ``edited`` for other weakenings
(prosody, coturn: pass their reload command).
"""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import Callable, Iterator

# systemctl reload returns once nginx got the signal; the old workers (old configuration)
# may still accept a connection for a moment: wait (5 s at most) until they are gone.
RELOAD_NGINX = ("nginx -t -q && old=$(pgrep -d ' ' -P $(cat /run/nginx.pid)) && "
                "systemctl reload nginx && for i in $(seq 50); do left=; for p in $old; do "
                "kill -0 $p 2>/dev/null && left=1; done; [ -z \"$left\" ] && break; sleep 0.1; "
                "done")
SITE = "/etc/nginx/sites-available/jitsi-sovereign"
HEADERS = "/etc/nginx/snippets/jitsi-sovereign-headers.conf"


def _sh(host, script: str, *, stdin: str | None = None):
    return host.sudo("sh", "-c", shlex.quote(script), stdin=stdin)


def read(host, path: str) -> str:
    return _sh(host, f"cat {shlex.quote(path)}").stdout


@contextlib.contextmanager
def edited(host, path: str, transform: Callable[[str], str], reload: str) -> Iterator[str]:
    """``path`` on ``host`` rewritten by ``transform`` while inside; yields the new text."""
    q = shlex.quote(path)
    backup = shlex.quote(path + ".jsov-weaken")
    # A copy left by an interrupted run holds the real file: put it back first.
    _sh(host, f"if [ -e {backup} ]; then mv {backup} {q} && {reload or 'true'}; fi")
    original = read(host, path)
    changed = transform(original)
    if changed == original:
        raise AssertionError(f"the weakening does not change {path}: the host's file is not "
                             "what the test expects")
    _sh(host, f"cp -p {q} {backup}")
    try:
        _sh(host, f"cat > {q}", stdin=changed)
        if reload:
            _sh(host, reload)
        yield changed
    finally:
        _sh(host, f"mv {backup} {q}" + (f" && {reload}" if reload else ""))
    if read(host, path) != original:
        raise AssertionError(f"{path} on {host.name} is not back to what it was")


def _replace(old: str, new: str) -> Callable[[str], str]:
    def transform(text: str) -> str:
        if old not in text:
            raise AssertionError(f"{old!r} not found")
        return text.replace(old, new)
    return transform


def old_tls(host) -> contextlib.AbstractContextManager[str]:
    """nginx accepts TLS 1.0 and 1.1, with CBC suites; Debian 13's OpenSSL needs
    @SECLEVEL=0 for them (SHA-1 in the handshake)."""
    def transform(text: str) -> str:
        text = _replace("ssl_protocols TLSv1.2 TLSv1.3;",
                        "ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;")(text)
        lines = []
        for line in text.splitlines(keepends=True):
            if line.strip().startswith("ssl_ciphers "):
                line = line.replace(";", ":ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA"
                                         ":@SECLEVEL=0;")
            lines.append(line)
        return "".join(lines)
    return edited(host, SITE, transform, RELOAD_NGINX)


def csp_without_blob_workers(host) -> contextlib.AbstractContextManager[str]:
    """The CSP's worker-src without blob: (E2EE's and the virtual background's workers)."""
    return edited(host, HEADERS, _replace("worker-src 'self' blob:;", "worker-src 'self';"),
                  RELOAD_NGINX)


GRAVATAR_URL = "https://www.gravatar.com/avatar/"


def config_js_gravatar(host) -> contextlib.AbstractContextManager[str]:
    """A gravatar URL in the served config.js (nginx serves the file as it is: no reload)."""
    path = f"/etc/jitsi/meet/{host.domain}-config.js"
    return edited(host, path, _replace("var config = {",
                                       f"var config = {{\n    gravatarBaseURL: '{GRAVATAR_URL}',"),
                  reload="")
