"""Which Debian mirror this machine uses, read from its own apt sources."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_SECURITY = "http://deb.debian.org/debian-security"


@dataclass(frozen=True)
class Mirrors:
    """The archive mirror and the security mirror (both plain http URLs)."""

    archive: str = DEFAULT_MIRROR
    security: str = DEFAULT_SECURITY


@dataclass(frozen=True)
class Source:
    """One ``deb`` source: a URI and its suites."""

    uri: str
    suites: tuple[str, ...]


def parse_deb822(text: str) -> list[Source]:
    """Sources of a ``*.sources`` file (deb822 stanzas; ``deb-src`` and disabled ones skipped)."""
    out: list[Source] = []
    for stanza in _stanzas(text):
        if "deb" not in stanza.get("types", "").split():
            continue
        if stanza.get("enabled", "yes").lower() == "no":
            continue
        suites = tuple(stanza.get("suites", "").split())
        out.extend(Source(uri, suites) for uri in stanza.get("uris", "").split())
    return out


def _stanzas(text: str) -> list[dict[str, str]]:
    stanzas: list[dict[str, str]] = []
    current: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if not line.strip():
            if current:
                stanzas.append(current)
            current, key = {}, None
        elif line[0] in " \t" and key:
            current[key] += " " + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            key = key.strip().lower()
            current[key] = value.strip()
    if current:
        stanzas.append(current)
    return stanzas


def parse_one_line(text: str) -> list[Source]:
    """Sources of a one-line ``sources.list`` (``deb [opts] URI SUITE COMP...``)."""
    out: list[Source] = []
    for raw in text.splitlines():
        words = raw.split("#", 1)[0].split()
        if not words or words[0] != "deb":
            continue
        words = words[1:]
        if words and words[0].startswith("["):
            while words and not words[0].endswith("]"):
                words = words[1:]
            words = words[1:]
        if len(words) >= 2:
            out.append(Source(words[0], (words[1],)))
    return out


def choose(sources: list[Source]) -> Mirrors:
    """The first plain-http Debian archive and security mirrors among ``sources``."""
    archive = security = None
    for src in sources:
        if not src.uri.startswith("http://"):
            continue
        uri = src.uri.rstrip("/")
        if any(s.endswith("-security") or s.endswith("/updates") for s in src.suites):
            security = security or uri
        elif uri.endswith("/debian") or "debian" in uri.rsplit("/", 1)[-1]:
            archive = archive or uri
    return Mirrors(archive or DEFAULT_MIRROR, security or DEFAULT_SECURITY)


def detect(etc_apt: Path = Path("/etc/apt")) -> Mirrors:
    """Mirrors from ``/etc/apt/sources.list.d/*.sources`` and ``*.list`` and ``sources.list``."""
    sources: list[Source] = []
    parts = etc_apt / "sources.list.d"
    if parts.is_dir():
        for path in sorted(parts.glob("*.sources")):
            sources += parse_deb822(path.read_text(errors="replace"))
        for path in sorted(parts.glob("*.list")):
            sources += parse_one_line(path.read_text(errors="replace"))
    main = etc_apt / "sources.list"
    if main.is_file():
        sources += parse_one_line(main.read_text(errors="replace"))
    return choose(sources)
