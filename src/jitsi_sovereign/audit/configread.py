"""A served config.js (or interface_config.js) read the way a browser would get it, leniently.

``confcheck.configjs.parse`` is strict on purpose: it checks the file this project writes,
which must be ``var config = {...}`` with literal values only. A server audited from
outside may run Jitsi's own packaged config.js, which has a few statements around the
declaration (``var subdir = '...'``, ``if (subdomain) {...}``) and values built with ``+``
(``muc: 'conference.' + subdomain + 'meet.example.fr'``). This reader:

* parses the whole file with esprima (a syntax error is ``ConfigJsError``: the browser
  would not run it either);
* evaluates the object literal of ``var <name> = {...}`` (or ``<name> = {...}``) and the
  later ``<name>.a.b = value;`` assignments: literals as they are, ``+`` of strings and
  numbers, template literals, and identifiers declared earlier with a literal value (the
  SSI-substituted ``subdir`` and ``subdomain``); anything else (a function call, a
  condition) is left as ``None`` and its key listed in ``computed``;
* follows ``if`` statements whose condition it knows (``if (enableJaaS)`` with ``var
  enableJaaS = false``): the branch that runs is read, the other one ignored;
* collects every host named in ANY string of the file that may run
  (``configjs.hosts_in``), with where it was seen: the dotted key inside the object, else
  ``line N``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import esprima

from jitsi_sovereign.confcheck.configjs import ConfigJsError, hosts_in

_UNKNOWN = object()
# nginx's SSI echo left unprocessed (no SSI on the server): the browser gets the comment,
# the packaged config.js then replaces it with its default.
_SSI_ECHO = re.compile(r'<!--#\s*echo\s+var="[^"]*"(?:\s+default="([^"]*)")?\s*-->')


@dataclass
class ReadConfig:
    config: dict[str, Any] | None  # the object's values; None: no such declaration
    hosts: dict[str, list[str]] = field(default_factory=dict)  # host -> where it is named
    computed: list[str] = field(default_factory=list)  # keys whose value is not a literal


def read(text: str, name: str = "config") -> ReadConfig:
    try:
        program = esprima.parseScript(text, {"loc": True})
    except esprima.Error as exc:
        raise ConfigJsError(f"syntax error: {exc}") from exc
    except RecursionError:
        raise ConfigJsError("nested too deeply to be read") from None
    reader = _Reader(name)
    for stmt in program.body:
        reader.statement(stmt)
    # Every string of the file, whatever statement holds it (but code that never runs:
    # `if (enableJaaS) {...}` with `var enableJaaS = false;`).
    for line, value in _strings(program, reader.dead):
        for host in hosts_in(value):
            where = reader.hosts.setdefault(host, [])
            if not where:
                where.append(f"line {line}")
    return ReadConfig(reader.config, reader.hosts, sorted(set(reader.computed)))


class _Reader:
    def __init__(self, name: str) -> None:
        self.name = name
        self.env: dict[str, Any] = {}
        self.config: dict[str, Any] | None = None
        self.hosts: dict[str, list[str]] = {}
        self.computed: list[str] = []
        self.dead: set[int] = set()  # id() of branches that never run

    def statement(self, stmt: Any) -> None:
        if stmt.type == "IfStatement":
            test = self._eval(stmt.test, "if", False)
            branches = [stmt.consequent, stmt.alternate]
            if test is _UNKNOWN:
                return  # which branch runs is unknown: its assignments are not applied
            taken, skipped = branches if test else branches[::-1]
            if skipped is not None:
                self.dead.add(id(skipped))
            if taken is not None:
                for sub in taken.body if taken.type == "BlockStatement" else [taken]:
                    self.statement(sub)
            return
        if stmt.type == "VariableDeclaration":
            for decl in stmt.declarations:
                if decl.id.type != "Identifier":
                    continue
                if decl.id.name == self.name and decl.init is not None \
                        and decl.init.type == "ObjectExpression":
                    self.config = self.value(decl.init, self.name)
                elif decl.init is not None and decl.id.name != self.name:
                    value = self.value(decl.init, decl.id.name, record=False)
                    if isinstance(value, str | int | float | bool) or value is None:
                        self.env[decl.id.name] = value
        elif stmt.type == "ExpressionStatement" and stmt.expression.type == "AssignmentExpression" \
                and stmt.expression.operator == "=":
            self.assign(stmt.expression.left, stmt.expression.right)

    def assign(self, left: Any, right: Any) -> None:
        path = _member_path(left)
        if not path or path[0] != self.name:
            return
        if len(path) == 1:
            if right.type == "ObjectExpression":
                self.config = self.value(right, self.name)
            return
        if self.config is None:
            return
        node = self.config
        for part in path[1:-1]:
            nxt = node.get(part)
            if not isinstance(nxt, dict):
                nxt = node[part] = {}
            node = nxt
        node[path[-1]] = self.value(right, ".".join(path))

    def value(self, node: Any, where: str, record: bool = True) -> Any:
        got = self._eval(node, where, record)
        if got is _UNKNOWN:
            if record:
                self.computed.append(where.split(".", 1)[1] if "." in where else where)
            return None
        return got

    def _string(self, text: str, where: str, record: bool) -> str:
        text = _SSI_ECHO.sub(lambda m: m.group(1) or "", text)
        if record:
            for host in hosts_in(text):
                self.hosts.setdefault(host, []).append(_key(where))
        return text

    def _eval(self, node: Any, where: str, record: bool) -> Any:
        kind = node.type
        if kind == "Literal":
            if getattr(node, "regex", None):
                return _UNKNOWN
            if isinstance(node.value, str):
                return self._string(node.value, where, record)
            return node.value
        if kind == "TemplateLiteral":
            parts = []
            for i, quasi in enumerate(node.quasis):
                parts.append(quasi.value.cooked or "")
                if i < len(node.expressions):
                    sub = self._eval(node.expressions[i], where, False)
                    if sub is _UNKNOWN:
                        return _UNKNOWN
                    parts.append(str(sub))
            return self._string("".join(parts), where, record)
        if kind == "ObjectExpression":
            out: dict[str, Any] = {}
            for prop in node.properties:
                if prop.type != "Property" or prop.computed:
                    if record:
                        self.computed.append(_key(where) + ".<computed>")
                    continue
                if prop.key.type == "Identifier":
                    key = prop.key.name
                elif prop.key.type == "Literal":
                    key = str(prop.key.value)
                else:
                    continue
                out[key] = self.value(prop.value, f"{where}.{key}", record)
            return out
        if kind == "ArrayExpression":
            return [None if el is None else self.value(el, f"{where}[{i}]", record)
                    for i, el in enumerate(node.elements)]
        if kind == "UnaryExpression":
            arg = self._eval(node.argument, where, False)
            if arg is _UNKNOWN:
                return _UNKNOWN
            if node.operator == "!":
                return not arg
            if node.operator in "-+" and isinstance(arg, int | float) \
                    and not isinstance(arg, bool):
                return -arg if node.operator == "-" else arg
            return _UNKNOWN
        if kind == "BinaryExpression" and node.operator == "+":
            left = self._eval(node.left, where, False)
            right = self._eval(node.right, where, False)
            if left is _UNKNOWN or right is _UNKNOWN:
                return _UNKNOWN
            if isinstance(left, str) or isinstance(right, str):
                return self._string(f"{_js(left)}{_js(right)}", where, record)
            if isinstance(left, int | float) and isinstance(right, int | float):
                return left + right
            return _UNKNOWN
        if kind == "Identifier":
            if node.name == "undefined":
                return None
            return self.env.get(node.name, _UNKNOWN)
        return _UNKNOWN


def _js(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _key(where: str) -> str:
    return where.split(".", 1)[1] if "." in where else where


def _member_path(node: Any) -> list[str] | None:
    parts: list[str] = []
    while node.type == "MemberExpression":
        if node.computed:
            if node.property.type != "Literal" or not isinstance(node.property.value, str):
                return None
            parts.append(node.property.value)
        else:
            parts.append(node.property.name)
        node = node.object
    if node.type != "Identifier":
        return None
    parts.append(node.name)
    return parts[::-1]


def _strings(node: Any, dead: set[int], depth: int = 0):
    """(line, text) of every string literal and template part under ``node``, except
    under the nodes in ``dead``."""
    if depth > 200 or id(node) in dead:
        return
    kind = getattr(node, "type", None)
    if kind == "Literal" and isinstance(node.value, str):
        yield node.loc.start.line, _SSI_ECHO.sub(lambda m: m.group(1) or "", node.value)
        return
    if kind == "TemplateElement":
        yield node.loc.start.line, node.value.cooked or ""
        return
    for attr, child in vars(node).items() if hasattr(node, "__dict__") else ():
        if attr in ("loc", "range"):
            continue
        if isinstance(child, list):
            for item in child:
                if hasattr(item, "type"):
                    yield from _strings(item, dead, depth + 1)
        elif hasattr(child, "type"):
            yield from _strings(child, dead, depth + 1)
