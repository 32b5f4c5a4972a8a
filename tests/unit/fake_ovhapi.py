"""The OVH API's DNS zone routes on loopback, for the contract tests of cloud/ovh.py's
OvhDns: python-ovh runs its own code path (time delta from /auth/time, signed requests)
and the fake checks each signature the way the OVH API does:
"$1$" + sha1(application_secret + "+" + consumer_key + "+" + METHOD + "+" + full URL +
"+" + body + "+" + timestamp).

python-ovh only accepts named endpoints; the test adds one to ovh.client.ENDPOINTS
("loopback-test") that points here, and selects it with OVH_ENDPOINT as a user would.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field

from fake_http import JSON_NULL, LoopbackApi, Reply, Request

APP_KEY = "fake-app-key"
APP_SECRET = "fake-app-secret-0123"      # test-only, checked by the fake
CONSUMER_KEY = "fake-consumer-key-4567"


@dataclass
class ApiCall:
    method: str
    path: str
    query: dict
    body: object

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class FakeOvhApi(LoopbackApi):
    zones: dict[str, dict[int, dict]] = field(
        default_factory=lambda: {"mairie.fr": {}, "example.org": {}})

    def __post_init__(self) -> None:
        self.calls: list[ApiCall] = []
        self.bad_signatures: list[str] = []
        self.faults: list[tuple[str, str, int, int]] = []   # method, regex, status, times
        self.refreshes: list[str] = []
        self._next = 1000
        self.lock = threading.Lock()
        self._listen()

    @property
    def endpoint(self) -> str:
        return f"{self.origin}/1.0"

    def fail(self, method: str, path: str, status: int, times: int = 1) -> None:
        self.faults.append((method, path, status, times))

    def add_record(self, zone: str, kind: str, sub: str, target: str) -> int:
        self._next += 1
        self.zones[zone][self._next] = {"id": self._next, "zone": zone, "fieldType": kind,
                                        "subDomain": sub, "target": target, "ttl": 3600}
        return self._next

    def records(self) -> list[tuple[str, str, str, str]]:
        return sorted((z, r["fieldType"], r["subDomain"], r["target"])
                      for z, recs in self.zones.items() for r in recs.values())

    def writes(self) -> list[str]:
        return [str(c) for c in self.calls if c.method in ("POST", "PUT", "DELETE")]

    def reply(self, request: Request) -> Reply:
        raw = request.text()
        call = ApiCall(request.method, request.path[len("/1.0"):],
                       {k: v if isinstance(v, str) else v[0]
                        for k, v in request.query().items()},
                       json.loads(raw) if raw else None)
        with self.lock:
            self.calls.append(call)
            status, out = self._route(call, request.headers, request.target, raw)
        return Reply(status, JSON_NULL if out is None else out)  # the OVH API answers null

    def _signed(self, headers, url: str, method: str, body: str) -> bool:
        ts = headers.get("X-Ovh-Timestamp", "")
        want = "$1$" + hashlib.sha1("+".join(
            [APP_SECRET, CONSUMER_KEY, method, url, body, ts]).encode()).hexdigest()
        return headers.get("X-Ovh-Signature") == want and abs(int(ts) - time.time()) < 60

    def _route(self, c: ApiCall, headers, raw_path: str, body: str):
        if c.method == "GET" and c.path == "/auth/time":
            return 200, int(time.time())
        url = f"{self.origin}{raw_path}"
        if headers.get("X-Ovh-Application") != APP_KEY:
            return 403, {"errorCode": "INVALID_KEY", "message": "Invalid application key"}
        if headers.get("X-Ovh-Consumer") != CONSUMER_KEY:
            return 403, {"errorCode": "INVALID_CREDENTIAL",
                         "message": "This credential does not exist"}
        if not self._signed(headers, url, c.method, body):
            self.bad_signatures.append(str(c))
            return 400, {"errorCode": "INVALID_SIGNATURE", "message": "Invalid signature"}
        for i, (method, rx, status, times) in enumerate(self.faults):
            if times and method == c.method and re.search(rx, c.path):
                self.faults[i] = (method, rx, status, times - 1)
                return status, {"message": "injected", "errorCode": "INTERNAL"}
        if c.method == "GET" and c.path == "/domain/zone":
            return 200, sorted(self.zones)
        m = re.fullmatch(r"/domain/zone/([^/]+)(/.*)?", c.path)
        if not m or m.group(1) not in self.zones:
            return 404, {"message": f"This service does not exist: {c.path}"}
        zone, rest, recs = m.group(1), m.group(2) or "", self.zones[m.group(1)]
        if rest == "/record" and c.method == "GET":
            return 200, [r["id"] for r in recs.values()
                         if all(str(r.get(k)) == v for k, v in c.query.items())]
        if rest == "/record" and c.method == "POST":
            b = c.body or {}
            if b.get("fieldType") not in ("A", "AAAA") or "target" not in b:
                return 400, {"message": f"Invalid record {b}"}
            rid = self.add_record(zone, b["fieldType"], b.get("subDomain", ""), b["target"])
            recs[rid]["ttl"] = b.get("ttl", 3600)
            return 200, recs[rid]
        if rest == "/refresh" and c.method == "POST":
            self.refreshes.append(zone)
            return 200, None
        m = re.fullmatch(r"/record/(\d+)", rest)
        if m:
            rid = int(m.group(1))
            if rid not in recs:
                return 404, {"message": f"The requested object ({rid}) does not exist"}
            if c.method == "GET":
                return 200, recs[rid]
            if c.method == "DELETE":
                del recs[rid]
                return 200, None
        return 404, {"message": f"no route {c.method} {c.path}"}
