"""HOCON (jicofo.conf, jvb.conf) parsed with pyhocon into plain Python values.

Used twice: on the controller by the roles' filter plugin
(playbooks/filter_plugins/hocon.py) before a file is written, and by the checks on
the file read back from the host. Both see the same tree.

* ``parse(text, name)`` -> a plain ``dict`` (nested dicts, lists, str, int, float,
  bool, None; durations such as ``15 seconds`` as their text). A syntax error or a
  substitution that does not resolve raises ``HoconError`` naming the file, the
  line and column, and the parser's reason.
* Substitutions (``${a.b}``) resolve inside the file. The environment is NOT read
  unless given (``env=``): the controller's environment is not the service's, and a
  value that silently came from the controller would prove nothing.
* ``get(tree, "a.b.c")`` reads a dotted path (list items by index: ``a.0.b``).
* ``mismatches(tree, expect)`` compares key by key; values of keys that look like
  secrets (password, secret, token, key) are never shown in its messages.
* ``find_strings(tree, needles)`` lists the paths whose string values contain any of
  the needles (e.g. ``jitsi.net``: no third-party relay anywhere in the file).

Error messages never quote the file's text: the files hold passwords.
"""

from __future__ import annotations

import datetime
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

MISSING = object()  # a key that is not in the tree
_RAISE = object()
_SECRET_KEY_RE = re.compile(r"pass(word)?|secret|token|(^|[-_.])key($|[-_.])", re.I)
# pyhocon resolves a missing substitution from os.environ (module-global): while it
# parses, it sees the environment given to parse() instead (none by default).
_ENV_LOCK = threading.Lock()
# An include would be read here (controller files, URLs), not where the service runs.
_INCLUDE_RE = re.compile(
    r"(?:^|[{,\n])[ \t]*include[ \t]+(?:required[ \t]*\([ \t]*)?"
    r"(?:\"|url\(|file\(|classpath\(|package\()")


class HoconError(ValueError):
    """A file that is not valid HOCON (or whose substitutions do not resolve)."""

    def __init__(self, name: str, reason: str, line: int | None = None,
                 col: int | None = None) -> None:
        self.name, self.reason, self.line, self.col = name, reason, line, col
        where = "" if line is None else f" at line {line}"
        if line is not None and col is not None:
            where += f", column {col}"
        super().__init__(f"{name}: not valid HOCON{where}: {reason}")


def parser_version() -> str:
    """``pyhocon <version>`` (recorded in the roles' state files)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"pyhocon {version('pyhocon')}"
    except PackageNotFoundError:  # pragma: no cover - pyhocon imported from a path
        return "pyhocon"


class _EnvShim:
    """Stands for the ``os`` module inside pyhocon's parser: only ``environ`` is read."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.environ = dict(env)


def parse(text: str, name: str = "<string>", env: Mapping[str, str] | None = None) -> dict:
    """Parse HOCON text into a plain dict; ``HoconError`` when it is not valid."""
    try:
        from pyhocon import ConfigFactory, config_parser
        from pyhocon.exceptions import ConfigException
        from pyparsing import ParseBaseException
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise HoconError(name, f"pyhocon is not installed ({exc}): pip install pyhocon") from exc
    if not isinstance(text, str):
        raise HoconError(name, f"expected text, got {type(text).__name__}")
    include = _INCLUDE_RE.search(text)
    if include:
        line = text.count("\n", 0, include.end()) + 1
        raise HoconError(name, "include is not supported (the file must be self-contained: "
                         "an include would be read here, not on the host)", line, None)
    with _ENV_LOCK:
        real_os = config_parser.os
        config_parser.os = _EnvShim(env or {})
        try:
            tree = ConfigFactory.parse_string(text)
        except ParseBaseException as exc:
            # exc.msg is the grammar's expectation ("Expected '}'"), never the file's text.
            raise HoconError(name, exc.msg, exc.lineno, exc.col) from None
        except ConfigException as exc:
            raise HoconError(name, _substitution_reason(str(exc)), *_line_col(str(exc))) from None
        except (RecursionError, ValueError, TypeError, KeyError) as exc:
            raise HoconError(name, f"{type(exc).__name__} while parsing") from None
        finally:
            config_parser.os = real_os
    plain = _plain(tree)
    if not isinstance(plain, dict):
        raise HoconError(name, "the top level is not an object")
    return plain


def _line_col(message: str) -> tuple[int | None, int | None]:
    match = re.search(r"line:?\s*(\d+),\s*col:?\s*(\d+)", message)
    return (int(match.group(1)), int(match.group(2))) if match else (None, None)


def _substitution_reason(message: str) -> str:
    """pyhocon's message without its position (given apart) or any quoted value."""
    reason = re.sub(r"\s*\(line:?\s*\d+,\s*col:?\s*\d+\)", "", message).strip()
    var = re.search(r"\$\{\??[^}]*\}", reason)
    if reason.startswith("Cannot resolve variable") and var:
        return (f"substitution {var.group(0)} does not resolve inside the file "
                "(environment variables are not used)")
    return reason


def _plain(value: Any) -> Any:
    """ConfigTree/ConfigList -> dict/list; durations and other objects -> their text."""
    from pyhocon.config_tree import ConfigTree, NoneValue

    if isinstance(value, ConfigTree):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, NoneValue) or value is NoneValue:
        return None
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime.timedelta):
        return _duration_text(value)
    delta = _relativedelta_as_timedelta(value)
    if delta is not None:
        return _duration_text(delta)
    return str(value)


def _relativedelta_as_timedelta(value: Any) -> datetime.timedelta | None:
    """pyhocon parses durations into dateutil's relativedelta when python-dateutil is
    installed (the scaleway SDK brings it): the same duration as a timedelta, None when it
    is not a relativedelta or counts months or years (no fixed length)."""
    if type(value).__name__ != "relativedelta" or value.years or value.months:
        return None
    return datetime.timedelta(days=value.days, hours=value.hours, minutes=value.minutes,
                              seconds=value.seconds, microseconds=value.microseconds)


def _duration_text(delta: datetime.timedelta) -> str:
    total_ms = round(delta.total_seconds() * 1000)
    if total_ms % 1000:
        return f"{total_ms} milliseconds"
    return f"{total_ms // 1000} seconds"


def get(tree: Any, path: str, default: Any = _RAISE) -> Any:
    """Value at a dotted path; list items by index. ``KeyError`` (or ``default``) when absent."""
    node = tree
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            if default is _RAISE:
                raise KeyError(path)
            return default
    return node


def is_secret_key(path: str) -> bool:
    """Whether the last part of a dotted path names a secret (its value is never shown)."""
    return bool(_SECRET_KEY_RE.search(path.rsplit(".", 1)[-1]))


def shown(path: str, value: Any) -> str:
    """A value as a message may show it: secrets hidden, missing keys said so."""
    if value is MISSING:
        return "missing"
    if is_secret_key(path):
        return "<hidden>"
    return repr(value)


def mismatches(tree: dict, expect: Mapping[str, Any], name: str = "") -> list[str]:
    """One message per key whose value is not the expected one (secrets never shown)."""
    out = []
    prefix = f"{name}: " if name else ""
    for path, want in expect.items():
        have = get(tree, path, MISSING)
        if have is MISSING or have != want:
            if is_secret_key(path):
                detail = "missing" if have is MISSING else "not the expected value"
            else:
                detail = f"is {shown(path, have)}, expected {want!r}"
            out.append(f"{prefix}{path} {detail}")
    return out


def walk(tree: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path, leaf value) of every leaf, lists by index."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from walk(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            yield from walk(value, f"{prefix}.{i}" if prefix else str(i))
    else:
        yield prefix, tree


def find_strings(tree: Any, needles: Iterable[str]) -> list[str]:
    """Paths whose string value (or key) contains one of the needles (case-insensitive)."""
    low = [n.lower() for n in needles if n]
    found = []
    for path, value in walk(tree):
        text = f"{path} {value if isinstance(value, str) else ''}".lower()
        if any(n in text for n in low):
            found.append(path)
    return found
