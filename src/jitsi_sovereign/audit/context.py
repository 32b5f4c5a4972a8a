"""What the areas share during one audit: the target, and what was fetched once.

Shared fetches (each bounded by ``target.timeout``, cached for the whole audit, safe to
call from several threads):

``ctx.get(path, *, tls=True, port=None) -> Answer``
    One ``GET path`` to ``target.address`` (``connect_port`` over TLS, ``ctx.http_port``
    without), with SNI and Host = ``target.name``, as a browser would send it; no redirect
    followed; the certificate is NOT verified here (the tls area judges it) and old
    protocols are allowed, so that a weak server is still audited. Never raises: a network
    or TLS error is ``Answer.error``.

``ctx.head(path) -> Answer``
    The same with HEAD (no body).

``ctx.prefetch()``
    Starts the fetches below in the background (the tls area calls it first, so that
    they overlap its scan); each is still made once.

``ctx.https_error() -> str | None``
    Why the server cannot be reached over HTTPS at all (connection refused, time-out,
    TLS handshake failure), None when it can.

``ctx.web_app_missing() -> str | None``
    Why the server does not serve Jitsi Meet's web app (its page does not load
    libs/app.bundle.min.js, nor is that file served), None when it does. A server being
    set up (the lab: Jitsi's own packages cannot be installed there) says so this way;
    the checks that need Jitsi's own services (the videobridge's media port, joining a
    meeting) are then SKIPPED with this reason.

``ctx.config_js() -> ServedConfig``
    The served ``/config.js`` read as the browser gets it (``ServedConfig`` below;
    ``.config`` is the ``var config = {...}`` object as plain Python values,
    ``.get("hosts.domain")`` reads a dotted key, None when absent). Raises a ``Skip``
    subclass, whose message is the reason to show, when it cannot be had:

    * ``Unreachable``: no HTTPS answer at all;
    * ``RateLimited``: the server answered 429 (after one short, bounded retry);
    * ``NotJitsi``: the server answers but is not a Jitsi Meet server (no /config.js, or
      one that declares no ``config`` object, or an HTML page instead);
    * ``Unreadable``: /config.js exists but cannot be read (syntax error, other status);
    * ``Unsupported``: valid JavaScript (``node --check``, when node is installed) that
      the reader (esprima, ECMAScript 2017) cannot parse.

    An area that needs config.js catches ``Skip`` and reports its findings skipped with
    ``str(exc)``; the sovereignty area reports the failure itself (``sovereignty.config_js``
    failed for ``Unreadable``, ``sovereignty.jitsi`` failed for ``NotJitsi``).

``ctx.interface_config_js() -> ServedConfig | None``
    The same for ``/interface_config.js`` (``var interfaceConfig``), None when not served.

The audit could not run (exit status 2): ``fatal_error(findings)`` returns the reason when
one of ``FATAL_FINDINGS`` failed (the server does not answer over HTTPS: ``tls.connect``;
it is not a Jitsi Meet server: ``sovereignty.jitsi``), None otherwise. The CLI sets
``Report.error`` from it.
"""

from __future__ import annotations

import contextlib
import http.client
import shutil
import socket
import ssl
import subprocess
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

from jitsi_sovereign.audit.target import Target

USER_AGENT = "jitsi-sovereign-audit"
MAX_BODY = 2 * 1024 * 1024  # bytes read from one answer at most
# Findings whose failure means the audit could not run at all (exit status 2).
FATAL_FINDINGS = ("tls.connect", "sovereignty.jitsi")


class Skip(Exception):
    """Raised by a shared fetch when what an area needs is not there (the reason)."""


class Unreachable(Skip):
    """The server does not answer over HTTPS (refused, time-out, TLS handshake failure)."""


class RateLimited(Skip):
    """The server answered 429 Too Many Requests."""


class NotJitsi(Skip):
    """The server answers, but is not a Jitsi Meet server."""


class Unreadable(Skip):
    """/config.js (or interface_config.js) is served but cannot be read."""


class Unsupported(Skip):
    """/config.js is valid JavaScript (node --check) in a syntax newer than the audit's
    reader (esprima: ECMAScript 2017): its settings cannot be read."""


@dataclass
class Answer:
    url: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names, repeats joined
    raw_headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    error: str | None = None  # network or TLS error: no answer at all
    truncated: bool = False  # the body was longer than MAX_BODY or the time allowed

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass
class ServedConfig:
    url: str  # e.g. https://meet.example.fr/config.js
    text: str  # the file as served
    config: dict[str, Any]  # the object's values (None where not a literal: see computed)
    hosts: dict[str, list[str]]  # every host named in the file -> keys (or lines) naming it
    computed: list[str]  # keys whose value is an expression, not a literal
    strict_error: str | None  # why confcheck.configjs.parse (this project's rule) refuses it

    def get(self, dotted: str, default: Any = None) -> Any:
        node: Any = self.config
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node


@dataclass
class AuditContext:
    target: Target
    # Given on the command line: TURN credentials (username, password), when the server
    # does not hand them to guests.
    turn_credentials: tuple[str, str] | None = None
    cache: dict[str, Any] = field(default_factory=dict)
    # Plain HTTP port at target.address (the redirect check); tests point it elsewhere.
    http_port: int = 80
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # ------------------------------------------------------------------ HTTP

    def _once(self, key: Any, make: Any) -> Any:
        """``make()`` once per audit for ``key`` (concurrent callers wait for the first)."""
        with self._lock:
            lock = self.cache.setdefault(("lock", key), threading.Lock())
        with lock:
            if key not in self.cache:
                self.cache[key] = make()
            return self.cache[key]

    def get(self, path: str = "/", *, tls: bool = True, port: int | None = None) -> Answer:
        port = port or (self.target.connect_port if tls else self.http_port)
        return self._once(("get", tls, port, path),
                          lambda: fetch(self.target, path, tls=tls, port=port))

    def head(self, path: str) -> Answer:
        return self._once(("head", path), lambda: fetch(
            self.target, path, tls=True, port=self.target.connect_port, method="HEAD"))

    def prefetch(self) -> None:
        """Start the shared fetches in the background (daemon threads, each bounded), so
        that they overlap the TLS scan; the areas then find them done or wait for them."""
        jobs = [lambda: self.get("/", tls=False), self.config_js, self.interface_config_js,
                self.web_app_missing]

        def quietly(job) -> None:
            # A failure is not cached: the area that needs the result runs it again.
            with contextlib.suppress(Exception):
                job()

        for job in jobs:
            threading.Thread(target=quietly, args=(job,), daemon=True,
                             name="audit-prefetch").start()

    def https_error(self) -> str | None:
        answer = self.get("/")
        return answer.error

    def web_app_missing(self) -> str | None:
        page = self.get("/")
        if page.error:
            return f"the server does not answer over HTTPS ({page.error})"
        if "app.bundle.min.js" in page.text:
            return None
        bundle = self.head("/libs/app.bundle.min.js")
        if bundle.status == 200:
            return None
        return ("the Jitsi Meet web app is not served here: the page at / does not load "
                "libs/app.bundle.min.js and GET /libs/app.bundle.min.js answers "
                f"{bundle.status or bundle.error}")

    # ------------------------------------------------------------------ config.js

    def config_js(self) -> ServedConfig:
        got = self._once("config.js", lambda: _or_skip(
            lambda: self._served("/config.js", "config", True)))
        if isinstance(got, Skip):
            raise got
        return got

    def interface_config_js(self) -> ServedConfig | None:
        def make() -> Any:
            try:
                return self._served("/interface_config.js", "interfaceConfig", False)
            except NotJitsi:
                return None
            except Skip as exc:
                return exc

        got = self._once("interface_config.js", make)
        if isinstance(got, Skip):
            raise got
        return got

    def _served(self, path: str, name: str, main: bool) -> ServedConfig:
        from jitsi_sovereign.audit import configread
        from jitsi_sovereign.confcheck import configjs

        url = f"{self.target.url.rstrip('/')}{path}"
        answer = self.get(path)
        if answer.status == 429:
            wait = _retry_after(answer.headers.get("retry-after"))
            if wait is not None and wait <= min(2.0, self.target.timeout):
                time.sleep(wait)
                answer = fetch(self.target, path, tls=True, port=self.target.connect_port)
        if answer.error:
            raise Unreachable(f"GET {url} got no answer: {answer.error}")
        if answer.status == 429:
            raise RateLimited(f"GET {url}: the server answered 429 Too Many Requests (it "
                              "rate-limits this address); run the audit again later")
        if answer.status in (404, 410):
            raise NotJitsi(f"GET {url} answered {answer.status}: this does not look like a "
                           "Jitsi Meet server (every Jitsi Meet web app serves /config.js)")
        if answer.status != 200:
            raise Unreadable(f"GET {url} answered {answer.status}, not 200")
        text = answer.text
        ctype = answer.headers.get("content-type", "")
        if "html" in ctype or text.lstrip()[:15].lower().startswith(("<!doctype", "<html")):
            raise NotJitsi(f"GET {url} answered an HTML page ({ctype or 'no Content-Type'}), "
                           "not a script: this does not look like a Jitsi Meet server")
        if answer.truncated:
            raise Unreadable(f"GET {url}: the file is longer than {MAX_BODY} bytes or did not "
                             "arrive within the time allowed")
        try:
            read = configread.read(text, name)
        except configjs.ConfigJsError as exc:
            raise _syntax_error(url, text, str(exc), self.target.timeout) from None
        if read.config is None:
            raise NotJitsi(f"{url} declares no `{name}` object: this does not look like "
                           "a Jitsi Meet server") if main else \
                Unreadable(f"{url} declares no `{name}` object")
        try:
            configjs.parse(text, name)
            strict = None
        except configjs.ConfigJsError as exc:
            strict = str(exc)
        return ServedConfig(url, text, read.config, read.hosts, read.computed, strict)


def _or_skip(make: Any) -> Any:
    try:
        return make()
    except Skip as exc:
        return exc


def _syntax_error(url: str, text: str, error: str, timeout: float) -> Skip:
    """Unreadable, confirmed by ``node --check`` when node is installed; Unsupported when
    node parses what esprima (ECMAScript 2017) does not."""
    node = shutil.which("node")
    if node is None:
        return Unreadable(f"{url} cannot be read as JavaScript ({error}; esprima, ECMAScript "
                          "2017): the meeting page does not start if a browser fails the same")
    try:
        checked = subprocess.run([node, "--check"], input=text.encode(), capture_output=True,
                                 timeout=max(5.0, 2 * timeout), check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Unreadable(f"{url} cannot be read as JavaScript ({error}); node --check could "
                          f"not confirm it: {exc}")
    if checked.returncode == 0:
        return Unsupported(f"{url} is valid JavaScript (node --check) in a syntax newer than "
                           f"the audit's reader, ECMAScript 2017 ({error}): its settings "
                           "could not be read")
    lines = checked.stderr.decode(errors="replace").strip().splitlines()
    node_error = next((line for line in lines if "Error" in line), lines[-1] if lines else "")
    return Unreadable(f"{url} cannot be read as JavaScript ({error}; node --check: "
                      f"{node_error}): a browser stops at the same error and the meeting page "
                      "does not start")


def fatal_error(findings: list) -> str | None:
    """The reason the audit could not run (exit status 2), or None."""
    for f in findings:
        if f.id in FATAL_FINDINGS and f.status == "failed":
            return f.reason
    return None


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def permissive_tls() -> ssl.SSLContext:
    """A client context that accepts what the server offers (the tls area judges it)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # on purpose: old servers
            ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        pass
    return ctx


def fetch(target: Target, path: str, *, tls: bool, port: int,
          method: str = "GET") -> Answer:
    """One request to ``target.address:port`` with Host (and SNI) = ``target.name``."""
    scheme = "https" if tls else "http"
    default = 443 if tls else 80
    host = target.name if port == default else f"{target.name}:{port}"
    # The Host header names the URL's port, not the --connect-to one.
    host_header = target.name if (target.port if tls else 80) == default \
        else f"{target.name}:{target.port}"
    url = f"{scheme}://{host}{path}"
    deadline = time.monotonic() + 2 * target.timeout
    try:
        sock: socket.socket = socket.create_connection((target.address, port),
                                                       timeout=target.timeout)
    except OSError as exc:
        return Answer(url, error=_describe(exc, target, port))
    try:
        if tls:
            try:
                sock = permissive_tls().wrap_socket(sock, server_hostname=target.name)
            except (OSError, ssl.SSLError) as exc:
                return Answer(url, error=f"TLS handshake with {target.address}:{port} "
                                         f"(SNI {target.name}) failed: {_describe(exc)}")
        request = (f"{method} {path} HTTP/1.1\r\nHost: {host_header}\r\n"
                   f"User-Agent: {USER_AGENT}\r\nAccept: */*\r\nConnection: close\r\n\r\n")
        sock.sendall(request.encode())
        resp = http.client.HTTPResponse(sock, method=method)
        resp.begin()
        headers: dict[str, str] = {}
        raw = resp.getheaders()
        for name, value in raw:
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        answer = Answer(url, resp.status, headers, list(raw))
        chunks, size = [], 0
        while method != "HEAD":
            if time.monotonic() > deadline:
                answer.truncated = True
                break
            chunk = resp.read(65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_BODY:
                answer.truncated = True
                break
        answer.body = b"".join(chunks)
        return answer
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return Answer(url, error=f"{scheme.upper()} request to {target.address}:{port}: "
                                 f"{_describe(exc)}")
    finally:
        sock.close()


def _describe(exc: BaseException, target: Target | None = None, port: int | None = None) -> str:
    where = f"{target.address}:{port}: " if target else ""
    if isinstance(exc, TimeoutError):
        limit = f" within {target.timeout:g} s" if target else " in time"
        return f"{where}no answer{limit}"
    if isinstance(exc, ConnectionRefusedError):
        return f"{where}connection refused"
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return f"{where}{type(exc).__name__}: {text}"
