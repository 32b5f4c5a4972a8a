"""Pure logic of the TLS and nginx checks: ``nginx -T``, headers, CSP, cipher suites.

No I/O: unit-tested without a host.
"""

from __future__ import annotations

import datetime
import fnmatch
import posixpath
import re
from dataclasses import dataclass, field

CERT_PATH = "/etc/jitsi-sovereign/tls/fullchain.pem"
KEY_PATH = "/etc/jitsi-sovereign/tls/privkey.pem"

# ------------------------------------------------------------------ baseline (Mozilla 6.0)

# Mozilla server-side TLS 6.0 "intermediate", nginx 1.22+ with OpenSSL 3.0
# (security-baseline.md, TLS/nginx row).
MOZILLA_PROTOCOLS = ["TLSv1.2", "TLSv1.3"]
MOZILLA_CIPHERS_OPENSSL = [
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
]
# The same six suites under their IANA names (what sslyze reports for TLS 1.2).
MOZILLA_TLS12_IANA = {
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
}
TLS13_SUITES = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                "TLS_CHACHA20_POLY1305_SHA256"}
HSTS_MIN_AGE = 63072000  # two years
SESSION_TICKETS_FIXED = (1, 23, 2)  # nginx rotates ticket keys itself from this version on
# Variables that put a client's address into a log line.
IP_VARIABLES = ("$remote_addr", "$binary_remote_addr", "$http_x_forwarded_for",
                "$realip_remote_addr", "$proxy_add_x_forwarded_for", "$http_x_real_ip")
# nginx's built-in format, used when access_log names none.
COMBINED = ('$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
            '"$http_referer" "$http_user_agent"')


def classify_tls12_suite(name: str) -> str | None:
    """None if a TLS 1.2 suite (IANA name) is allowed, else why it is not."""
    if name in MOZILLA_TLS12_IANA:
        return None
    if not name.startswith("TLS_ECDHE_"):
        kex = name.removeprefix("TLS_").split("_WITH_")[0]
        return f"{name}: key exchange {kex} is not ECDHE (no forward secrecy)"
    if not ("_GCM_" in name or "CHACHA20_POLY1305" in name):
        return f"{name}: not an AEAD cipher (CBC or other)"
    return f"{name}: not in Mozilla's intermediate list"


def disallowed_suites(version: str, accepted: list[str]) -> list[str]:
    """Why each accepted suite of ``version`` ("TLSv1.2"/"TLSv1.3") is not allowed."""
    if version == "TLSv1.3":
        return [f"{n}: not a TLS 1.3 suite of Mozilla's profile" for n in accepted
                if n not in TLS13_SUITES]
    if version == "TLSv1.2":
        return [r for r in (classify_tls12_suite(n) for n in accepted) if r]
    return [f"{n}: {version} must be refused" for n in accepted] or \
        [f"{version} must be refused"]


def version_tuple(text: str) -> tuple[int, ...]:
    """``nginx version: nginx/1.22.1`` (or ``1.22.1``) -> (1, 22, 1)."""
    m = re.search(r"(\d+)\.(\d+)\.(\d+)", text)
    if not m:
        raise ValueError(f"no version in {text!r}")
    return tuple(int(x) for x in m.groups())


# ------------------------------------------------------------------ headers


def parse_hsts(value: str) -> tuple[int | None, bool, bool]:
    """``max-age=N; includeSubDomains; preload`` -> (max_age, include_subdomains, preload)."""
    max_age, subdomains, preload = None, False, False
    for part in value.split(";"):
        key, _, val = part.strip().partition("=")
        key = key.strip().lower()
        if key == "max-age":
            try:
                max_age = int(val.strip().strip('"'))
            except ValueError:
                max_age = None
        elif key == "includesubdomains":
            subdomains = True
        elif key == "preload":
            preload = True
    return max_age, subdomains, preload


def hsts_problems(value: str | None, promised_max_age: int | None = None) -> list[str]:
    """What is wrong with a Strict-Transport-Security value (empty list: fine)."""
    if not value:
        return ["no Strict-Transport-Security header"]
    max_age, subdomains, _ = parse_hsts(value)
    out = []
    if max_age is None:
        out.append(f"HSTS {value!r} has no max-age")
    else:
        if max_age < HSTS_MIN_AGE:
            out.append(f"HSTS max-age={max_age} is below two years ({HSTS_MIN_AGE})")
        if promised_max_age is not None and max_age != int(promised_max_age):
            out.append(f"HSTS max-age={max_age}, nginx.json promises {promised_max_age}")
    if not subdomains:
        out.append(f"HSTS {value!r} lacks includeSubDomains")
    return out


def parse_csp(value: str) -> dict[str, list[str]]:
    """A Content-Security-Policy value -> {directive: [sources]} (first one wins)."""
    out: dict[str, list[str]] = {}
    for part in value.split(";"):
        words = part.split()
        if words and words[0].lower() not in out:
            out[words[0].lower()] = words[1:]
    return out


def frame_ancestors_problems(csp: str | None, allowed: list[str] | None) -> list[str]:
    """The CSP's frame-ancestors against the promise: 'none' when no portal is allowed,
    else exactly the allowed origins (with or without 'self')."""
    if not csp:
        return ["no Content-Security-Policy header"]
    sources = parse_csp(csp).get("frame-ancestors")
    if sources is None:
        return [f"the CSP has no frame-ancestors directive: {csp!r}"]
    allowed = [str(a) for a in (allowed or [])]
    if not allowed:
        return [] if sources == ["'none'"] else [
            f"frame-ancestors {' '.join(sources)}; framing is not allowed, wants 'none'"]
    got = set(sources) - {"'self'"}
    if got != set(allowed) - {"'self'"}:
        return [f"frame-ancestors {' '.join(sources)}; promised {' '.join(allowed)}"]
    return []


# Where a worker's script may come from (CSP level 3): worker-src, else child-src, else
# script-src, else default-src.
WORKER_FALLBACK = ("worker-src", "child-src", "script-src", "default-src")


def csp_worker_sources(csp: str) -> tuple[str | None, list[str]]:
    """(the directive that governs workers, its sources); (None, []) when none does."""
    directives = parse_csp(csp)
    for name in WORKER_FALLBACK:
        if name in directives:
            return name, directives[name]
    return None, []


def blob_worker_problems(csp: str | None) -> list[str]:
    """A CSP under which the web app cannot start its blob: workers: E2EE
    (lib-jitsi-meet modules/e2ee/E2EEContext.js:45-54 at cf3a8710) and the virtual
    background (jitsi-meet react/features/stream-effects/virtual-background/
    workers/TimerWorker.ts:67, backend/WorkerSegmentationBackend.ts:62-70 at abf901a45)."""
    if not csp:
        return []  # no policy: nothing is blocked (the header checks ask for one)
    name, sources = csp_worker_sources(csp)
    if name is None or "blob:" in sources or "*" in sources:
        return []
    return [f"the CSP blocks blob: workers ({name} {' '.join(sources)}): end-to-end "
            "encryption and virtual backgrounds cannot start (add worker-src 'self' blob:)"]


# ------------------------------------------------------------------ nginx -T


@dataclass
class Directive:
    name: str
    args: list[str]
    block: list[Directive] | None = None
    file: str = ""

    def children(self, name: str) -> list[Directive]:
        return [d for d in self.block or [] if d.name == name]


@dataclass
class NginxConf:
    """The effective configuration: the main file with every include expanded."""

    main: str
    tree: list[Directive] = field(default_factory=list)
    files: dict[str, list[Directive]] = field(default_factory=dict)

    def http(self) -> Directive | None:
        found = [d for d in self.tree if d.name == "http"]
        return found[0] if found else None


_HEADER_RE = re.compile(r"^# configuration file (.+):\s*$")


def _tokens(text: str):
    """nginx config tokens: words (quotes removed), '{', '}', ';'."""
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif c in "{};":
            yield c
            i += 1
        elif c in "\"'":
            j, buf = i + 1, []
            while j < n and text[j] != c:
                if text[j] == "\\" and j + 1 < n:
                    buf.append(text[j + 1])
                    j += 2
                    continue
                buf.append(text[j])
                j += 1
            yield "".join(buf)
            i = j + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in "{};":
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                j += 1
            yield text[i:j]
            i = j


def parse_nginx_block(text: str, file: str = "") -> list[Directive]:
    """One configuration file's text -> its directives (nested blocks kept)."""
    root: list[Directive] = []
    stack = [root]
    words: list[str] = []
    for tok in _tokens(text):
        if tok == ";":
            if words:
                stack[-1].append(Directive(words[0], words[1:], None, file))
            words = []
        elif tok == "{":
            d = Directive(words[0] if words else "", words[1:], [], file)
            stack[-1].append(d)
            stack.append(d.block)  # type: ignore[arg-type]
            words = []
        elif tok == "}":
            if len(stack) > 1:
                stack.pop()
            words = []
        else:
            words.append(tok)
    return root


def split_nginx_t(text: str) -> dict[str, str]:
    """``nginx -T`` output -> {file path: its text}, in dump order."""
    files: dict[str, str] = {}
    current: str | None = None
    for line in text.splitlines():
        m = _HEADER_RE.match(line)
        if m:
            current = m.group(1).strip()
            files[current] = ""
        elif current is not None:
            files[current] += line + "\n"
    return files


def parse_nginx_t(text: str) -> NginxConf:
    """``nginx -T`` output -> the main file's tree with includes expanded."""
    texts = split_nginx_t(text)
    if not texts:
        raise ValueError("no '# configuration file' section in nginx -T output")
    main = next(iter(texts))
    files = {path: parse_nginx_block(body, path) for path, body in texts.items()}
    prefix = posixpath.dirname(main)

    def expand(items: list[Directive], depth: int) -> list[Directive]:
        out: list[Directive] = []
        for d in items:
            if d.name == "include" and d.args and depth < 16:
                pattern = d.args[0] if d.args[0].startswith("/") else \
                    posixpath.join(prefix, d.args[0])
                for path in sorted(p for p in files if fnmatch.fnmatchcase(p, pattern)):
                    out.extend(expand(files[path], depth + 1))
                continue
            if d.block is not None:
                d = Directive(d.name, d.args, expand(d.block, depth), d.file)
            out.append(d)
        return out

    return NginxConf(main, expand(files[main], 0), files)


def listen_ports(server: Directive) -> set[int]:
    """Ports of a server block's ``listen`` directives (80 when there is none)."""
    ports = set()
    listens = server.children("listen")
    if not listens:
        return {80}
    for d in listens:
        if not d.args or d.args[0].startswith("unix:"):
            continue
        addr = d.args[0]
        port = addr.rsplit(":", 1)[-1] if not addr.endswith("]") else "80"
        if port.isdigit():
            ports.add(int(port))
        elif "." not in addr and ":" not in addr:
            continue
        else:
            ports.add(80)
    return ports


def server_names(server: Directive) -> list[str]:
    return [a for d in server.children("server_name") for a in d.args]


def find_server(conf: NginxConf, port: int, name: str) -> list[Directive] | None:
    """[http, server] of the server block for ``name`` on ``port`` (None if none)."""
    http = conf.http()
    if http is None:
        return None
    candidates = [s for s in http.children("server") if port in listen_ports(s)]
    for s in candidates:
        if name in server_names(s):
            return [http, s]
    return None


def effective(chain: list[Directive], name: str) -> list[str] | None:
    """Arguments of a directive as it applies in the innermost block of ``chain``."""
    for ctx in reversed(chain):
        found = ctx.children(name)
        if found:
            return found[-1].args
    return None


def effective_all(chain: list[Directive], name: str) -> list[list[str]] | None:
    """Every occurrence of an array-like directive (add_header, access_log) that applies:
    those of the innermost block that has any (nginx does not merge them with outer ones).
    """
    for ctx in reversed(chain):
        found = ctx.children(name)
        if found:
            return [d.args for d in found]
    return None


def headers(chain: list[Directive]) -> dict[str, tuple[str, bool]]:
    """{lower-case header: (value, always)} added by ``add_header`` in that block."""
    out: dict[str, tuple[str, bool]] = {}
    for args in effective_all(chain, "add_header") or []:
        if len(args) >= 2:
            out[args[0].lower()] = (args[1], len(args) > 2 and args[2] == "always")
    return out


def locations(block: Directive) -> list[Directive]:
    """Every location block below ``block`` (nested ones too)."""
    out = []
    for d in block.block or []:
        if d.name == "location":
            out.append(d)
            out.extend(locations(d))
    return out


def log_formats(conf: NginxConf) -> dict[str, str]:
    """{name: format string} of the http block's log_format directives (plus combined)."""
    formats = {"combined": COMBINED}
    http = conf.http()
    for d in http.children("log_format") if http else []:
        args = [a for a in d.args[1:] if not a.startswith("escape=")]
        if d.args:
            formats[d.args[0]] = "".join(args)
    return formats


def access_log_problems(conf: NginxConf, chain: list[Directive]) -> list[str]:
    """Access logs of the server (and its locations) that keep client addresses."""
    formats = log_formats(conf)
    problems = []
    contexts = [(chain, "server")] + [([*chain, loc], f"location {' '.join(loc.args)}")
                                      for loc in locations(chain[-1])]
    for ctx_chain, where in contexts:
        logs = effective_all(ctx_chain, "access_log")
        if logs is None:
            logs = [["logs/access.log", "combined"]]  # nginx's built-in default
        for args in logs:
            if not args or args[0] == "off":
                continue
            fmt = args[1] if len(args) > 1 and "=" not in args[1] else "combined"
            text = formats.get(fmt)
            if text is None:
                problems.append(f"{where}: access_log {args[0]} uses unknown format {fmt}")
                continue
            leaks = [v for v in IP_VARIABLES if re.search(re.escape(v) + r"(?![A-Za-z0-9_])",
                                                          text)]
            if leaks:
                problems.append(f"{where}: access_log {args[0]} (format {fmt}) logs "
                                f"{', '.join(leaks)}")
    return problems


def redirect_problems(chain: list[Directive], code: int = 308) -> list[str]:
    """The port-80 server must answer ``return <code> https://...`` (ACME path aside)."""
    server = chain[-1]
    returns = [(None, d.args) for d in server.children("return")]
    for loc in locations(server):
        if loc.args and loc.args[-1] == "/":
            returns.extend((loc, d.args) for d in loc.children("return"))
    if not returns:
        return ["the port-80 server has no `return` redirect (server level or location /)"]
    _, args = returns[0]
    if not args or args[0] != str(code):
        return [f"port 80 answers `return {' '.join(args)}`, wants {code}"]
    if len(args) < 2 or not args[1].startswith("https://"):
        return [f"port 80 redirects to {args[1:] or 'nothing'}, not to https://"]
    return []


# ------------------------------------------------------------------ certificates


@dataclass
class CertInfo:
    serial: int
    not_after: datetime.datetime
    names: list[str]  # DNS names of the subjectAltName
    issuer: str
    chain_length: int  # certificates in the PEM file

    def covers(self, name: str) -> bool:
        """True if a SAN matches ``name`` (a wildcard covers one label)."""
        return name_matches(self.names, name)


def name_matches(names: list[str], domain: str) -> bool:
    """True if one of the certificate's DNS names covers ``domain`` (one-label wildcard)."""
    domain = domain.lower().rstrip(".")
    for name in (n.lower() for n in names):
        if name == domain or (name.startswith("*.") and "." in domain
                              and domain.split(".", 1)[1] == name[2:]):
            return True
    return False


def cert_info(pem: str) -> CertInfo:
    """The first certificate of a PEM file (leaf), and how many the file holds."""
    from cryptography import x509

    blocks = pem.count("-----BEGIN CERTIFICATE-----")
    if not blocks:
        raise ValueError("no PEM certificate in the file")
    cert = x509.load_pem_x509_certificate(pem.encode())
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = [str(n) for n in san.value.get_values_for_type(x509.DNSName)]
    except x509.ExtensionNotFound:
        names = []
    return CertInfo(cert.serial_number, cert.not_valid_after_utc, names,
                    cert.issuer.rfc4514_string(), blocks)
