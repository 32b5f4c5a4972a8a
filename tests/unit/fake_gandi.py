"""Gandi's LiveDNS API v5 on loopback, for the contract tests of cloud/gandi.py's GandiDns.

Stateful (zones and their rrsets), it checks each request the way LiveDNS does: the
Authorization header ("Bearer <PAT>", or the deprecated "Apikey <key>"), the method and
path (/v5/livedns/domains/{fqdn}[/records/{name}[/{type}]]), the body of a POST/PUT
({"rrset_values": [...], "rrset_ttl": 300..2592000}, nothing else). What it does not serve
it answers 404 and records in `unknown`; a malformed body is 400 and recorded in `bad`.
Faults are injected by method and path regex: (status, times).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field

from fake_http import DROP, LoopbackApi, Reply, Request

PAT = "fake-gandi-pat-0123456789"       # test-only, checked by the fake
API_KEY = "fake-gandi-apikey-4567"
PREFIX = "/v5/livedns"
TYPES = ("A", "AAAA", "CNAME", "MX", "TXT", "NS", "SOA", "CAA")


@dataclass
class ApiCall:
    method: str
    path: str
    body: object
    auth: str

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class FakeGandi(LoopbackApi):
    # zone -> {(name, type): {"rrset_values": [...], "rrset_ttl": N}}
    zones: dict[str, dict[tuple[str, str], dict]] = field(
        default_factory=lambda: {"mairie.fr": {}, "example.org": {}})
    # the fake accepts only these (a token for another organisation gets 403)
    tokens: tuple[str, ...] = (f"Bearer {PAT}", f"Apikey {API_KEY}")

    def __post_init__(self) -> None:
        self.calls: list[ApiCall] = []
        self.unknown: list[str] = []
        self.bad: list[str] = []
        self.faults: list[list] = []        # [method, regex, status, times]
        self.forbidden: set[str] = set()    # zones the token may not touch (403)
        self.lose_answer: set[str] = set()  # "METHOD path": done, then the connection dropped
        self.lock = threading.Lock()
        self._listen()

    @property
    def url(self) -> str:
        return f"{self.origin}{PREFIX}"

    def fail(self, method: str, path: str, status: int, times: int = 1) -> None:
        self.faults.append([method, path, status, times])

    def add(self, zone: str, name: str, kind: str, values: list[str], ttl: int = 10800) -> None:
        self.zones[zone][(name, kind)] = {"rrset_values": list(values), "rrset_ttl": ttl}

    def records(self) -> list[tuple[str, str, str, tuple, int]]:
        return sorted((z, n, t, tuple(r["rrset_values"]), r["rrset_ttl"])
                      for z, recs in self.zones.items() for (n, t), r in recs.items())

    def writes(self) -> list[str]:
        return [str(c) for c in self.calls if c.method in ("POST", "PUT", "PATCH", "DELETE")]

    def reply(self, request: Request) -> Reply | object:
        raw = request.text()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = {"_not_json": raw}
        call = ApiCall(request.method, request.target, body,
                       request.headers.get("Authorization", ""))
        with self.lock:
            self.calls.append(call)
            status, out = self._route(call, request.headers)
            lose = f"{call.method} {call.path}" in self.lose_answer
            if lose:
                self.lose_answer.discard(f"{call.method} {call.path}")
        if lose:        # the change is made, the client never hears of it
            return DROP
        return Reply(status, out, {"Retry-After": "0"} if status == 429 else {})

    def _route(self, c: ApiCall, headers):
        if not c.path.startswith(PREFIX + "/"):
            self.unknown.append(str(c))
            return 404, {"code": 404, "message": "Not found", "object": "HTTPNotFound"}
        if c.auth not in self.tokens:
            return 401, {"code": 401, "message": "The server could not verify that you "
                         "authorized to access the document you requested.",
                         "object": "HTTPUnauthorized", "cause": "Unauthorized"}
        for fault in self.faults:
            method, rx, status, times = fault
            if times and method == c.method and re.search(rx, c.path):
                fault[3] -= 1
                return status, {"code": status, "message": "injected", "object": "HTTPError"}
        path = c.path[len(PREFIX):]
        m = re.fullmatch(r"/domains/([a-z0-9.-]+)(?:/records(?:/([^/]+)(?:/([A-Z]+))?)?)?",
                         path)
        if not m:
            self.unknown.append(str(c))
            return 404, {"code": 404, "message": "Not found", "object": "HTTPNotFound"}
        zone, name, kind = m.groups()
        if zone not in self.zones:
            return 404, {"code": 404, "message": "The domain name is not managed by LiveDNS",
                         "object": "HTTPNotFound"}
        if zone in self.forbidden:
            return 403, {"code": 403, "message": "Access was denied to this resource.",
                         "object": "HTTPForbidden", "cause": "Forbidden"}
        recs = self.zones[zone]
        if name is None:
            if c.method == "GET" and not path.endswith("/records"):
                return 200, {"fqdn": zone, "automatic_snapshots": True}
            self.unknown.append(str(c))
            return 405, {"code": 405, "message": "Method not allowed"}
        if kind is None:
            if c.method == "GET":
                found = [{"rrset_name": n, "rrset_type": t, **r} for (n, t), r in recs.items()
                         if n == name]
                return (200, found) if found else (404, {"code": 404, "message": "Not found"})
            self.unknown.append(str(c))
            return 405, {"code": 405, "message": "Method not allowed"}
        if kind not in TYPES:
            self.bad.append(str(c))
            return 400, {"code": 400, "message": f"unknown type {kind}"}
        key = (name, kind)
        if c.method in ("POST", "PUT"):
            b = c.body
            problem = None
            if not isinstance(b, dict) or set(b) != {"rrset_values", "rrset_ttl"}:
                problem = f"the body must be exactly rrset_values and rrset_ttl: {b}"
            elif not (isinstance(b["rrset_values"], list) and b["rrset_values"]
                      and all(isinstance(v, str) for v in b["rrset_values"])):
                problem = "rrset_values: a non-empty list of strings"
            elif not (isinstance(b["rrset_ttl"], int) and 300 <= b["rrset_ttl"] <= 2592000):
                problem = "rrset_ttl: between 300 and 2592000"
            elif headers.get("Content-Type", "").split(";")[0] != "application/json":
                problem = "Content-Type must be application/json"
            if problem:
                self.bad.append(f"{c}: {problem}")
                return 400, {"code": 400, "message": "Bad request", "object": "HTTPBadRequest",
                             "errors": [{"location": "body", "description": problem}]}
            if c.method == "POST":
                if key in recs:
                    return 409, {"code": 409, "message": "A DNS Record already exists with "
                                 "same value", "object": "HTTPConflict"}
                recs[key] = {"rrset_values": b["rrset_values"], "rrset_ttl": b["rrset_ttl"]}
                return 201, {"message": "DNS Record Created"}
            recs[key] = {"rrset_values": b["rrset_values"], "rrset_ttl": b["rrset_ttl"]}
            return 201, {"message": "DNS Record Created"}
        if key not in recs:
            return 404, {"code": 404, "message": "Can't find the DNS record",
                         "object": "HTTPNotFound"}
        if c.method == "GET":
            return 200, {"rrset_name": name, "rrset_type": kind, **recs[key],
                         "rrset_href": f"{PREFIX}{path}"}
        if c.method == "DELETE":
            del recs[key]
            return 204, None
        self.unknown.append(str(c))
        return 405, {"code": 405, "message": "Method not allowed"}
