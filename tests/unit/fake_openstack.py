"""A stateful OpenStack cloud on loopback (Keystone v3, Nova, Neutron, Glance), the way
OVHcloud Public Cloud presents it, for the contract tests of cloud/ovh.py.

Real HTTP on 127.0.0.1: openstacksdk and keystoneauth run their own code path (version
discovery, token with a service catalog, region endpoint selection, JSON bodies). The
token body has Keystone v3's shape (catalog of services, endpoints per region) and the
discovery documents are openstacksdk's own test fixtures, rewritten to loopback.

Every request is recorded (method, region, service, path, query, JSON body); a request
to a route the fake does not know answers 404 and stays in `unknown` (tests assert it is
empty). Behaviour copied from the real services where our code depends on it:
- Neutron gives a new security group two egress rules (IPv4 and IPv6, any); the project
  also holds OVH's "default" group (ingress from anywhere), attached to any port created
  without security_groups; deleting a group a port uses answers 409 (SecurityGroupInUse);
  a duplicate rule answers 409 (SecurityGroupRuleExists).
- Nova's server list filter `name` is a regular expression (re.search), as in Nova; a
  server goes BUILD then ACTIVE; after DELETE it answers once more (task deleting) then 404;
  a pre-created port survives the server's deletion (unbound).
- Faults: `fail(method, path_regex, status, body, times)` answers an error instead;
  status 0 means the connection is dropped (no response at all), and `after=True`
  performs the request first then drops the response (the server exists, the client
  never learns its id).
"""

from __future__ import annotations

import importlib.util
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from fake_http import DROP, LoopbackApi, Reply, Request

# openstacksdk's own test fixtures (shipped in the wheel), read as files; the SDK itself
# is not imported here (bench/cloud_ovh.py counts its import in the first create)
FIXTURES = Path(importlib.util.find_spec("openstack").origin).parent / "tests" / "unit" \
    / "fixtures"

USER = "jsov-user"
PASSWORD = "s3cret-pass-word"   # test-only credential, checked by the fake
APP_CRED_ID = "appcred-id-1"
APP_CRED_SECRET = "appcred-secret-1"
PROJECT_ID = "0123456789abcdef0123456789abcdef"

DEFAULT_FLAVORS = [
    # OVH names, RAM in MB as Nova gives it
    {"id": "fl-d2-2", "name": "d2-2", "ram": 2048, "vcpus": 1, "disk": 25},
    {"id": "fl-d2-4", "name": "d2-4", "ram": 4096, "vcpus": 2, "disk": 50},
    {"id": "fl-b3-8", "name": "b3-8", "ram": 8192, "vcpus": 2, "disk": 50},
]
DEFAULT_IMAGES = [
    {"id": "img-deb12", "name": "Debian 12", "created_at": "2025-06-01T00:00:00Z"},
    {"id": "img-deb13-old", "name": "Debian 13", "created_at": "2025-09-01T00:00:00Z"},
    {"id": "img-deb13", "name": "Debian 13", "created_at": "2026-10-01T00:00:00Z"},
]


@dataclass
class Call:
    method: str
    region: str
    service: str
    path: str           # inside the service, e.g. /v2.0/security-groups
    query: dict
    body: dict | None

    def __str__(self) -> str:
        return f"{self.method} {self.region}/{self.service}{self.path}"


@dataclass
class Fault:
    method: str
    path: str           # regex on service + path, e.g. "compute/v2.1/servers$"
    status: int
    body: dict | None = None
    times: int = 1
    after: bool = False


@dataclass
class FakeOpenStack(LoopbackApi):
    regions: tuple[str, ...] = ("GRA11", "SBG5", "DE1", "BHS5")
    flavors: list[dict] = field(default_factory=lambda: [dict(f) for f in DEFAULT_FLAVORS])
    images: list[dict] = field(default_factory=lambda: [dict(i) for i in DEFAULT_IMAGES])
    ext_net_name: str = "Ext-Net"
    build_polls: int = 1            # GETs answering BUILD before ACTIVE
    build_ends: str = "ACTIVE"      # or "ERROR": the scheduler found no host

    def __post_init__(self) -> None:
        self.calls: list[Call] = []
        self.unknown: list[Call] = []
        self.faults: list[Fault] = []
        self.lock = threading.Lock()
        self.servers: dict[str, dict] = {}
        self.ports: dict[str, dict] = {}
        self.sgs: dict[str, dict] = {}
        self.rules: dict[str, dict] = {}
        self._polls: dict[str, int] = {}
        self.ext_net = {"id": "net-ext", "name": self.ext_net_name, "router:external": True,
                        "status": "ACTIVE", "subnets": ["sub-v4", "sub-v6"],
                        "project_id": "ovh"}
        self.private_net = {"id": "net-priv", "name": "my-vrack", "router:external": False,
                            "status": "ACTIVE", "subnets": [], "project_id": PROJECT_ID}
        default = self._new_sg("default", "Default security group", region="*")
        for ethertype in ("IPv4", "IPv6"):   # OVH's default group: everything comes in
            self._new_rule(default["id"], direction="ingress", ethertype=ethertype)
        self.default_sg_id = default["id"]
        self._ip = 10
        self._listen()

    # -- life ----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.origin

    @property
    def auth_url(self) -> str:
        return f"{self.url}/identity/v3"


    def fail(self, method: str, path: str, status: int, body: dict | None = None,
             times: int = 1, after: bool = False) -> None:
        self.faults.append(Fault(method, path, status, body, times, after))

    # -- views for the tests -------------------------------------------------------------
    def ours(self) -> dict[str, list[str]]:
        """What exists besides what the project had before we came: empty = no residue."""
        return {
            "servers": sorted(self.servers),
            "ports": sorted(self.ports),
            "security_groups": sorted(i for i in self.sgs if i != self.default_sg_id),
        }

    def writes(self) -> list[str]:
        return [str(c) for c in self.calls if c.method in ("POST", "PUT", "PATCH", "DELETE")
                and c.service != "identity"]

    # -- resources -----------------------------------------------------------------------
    def _new_sg(self, name: str, description: str, region: str) -> dict:
        sg = {"id": f"sg-{uuid.uuid4().hex[:12]}", "name": name, "description": description,
              "project_id": PROJECT_ID, "tenant_id": PROJECT_ID, "stateful": True,
              "security_group_rules": [], "tags": [], "region": region}
        self.sgs[sg["id"]] = sg
        return sg

    def _new_rule(self, sg_id: str, **kw) -> dict:
        rule = {"id": f"sgr-{uuid.uuid4().hex[:12]}", "security_group_id": sg_id,
                "direction": kw.get("direction", "ingress"),
                "ethertype": kw.get("ethertype", "IPv4"), "protocol": kw.get("protocol"),
                "port_range_min": kw.get("port_range_min"),
                "port_range_max": kw.get("port_range_max"),
                "remote_ip_prefix": kw.get("remote_ip_prefix"), "remote_group_id": None,
                "description": kw.get("description", ""), "project_id": PROJECT_ID,
                "tenant_id": PROJECT_ID}
        self.rules[rule["id"]] = rule
        return rule

    def _sg_view(self, sg: dict) -> dict:
        out = {k: v for k, v in sg.items() if k != "region"}
        out["security_group_rules"] = [r for r in self.rules.values()
                                       if r["security_group_id"] == sg["id"]]
        return out

    def _server_view(self, srv: dict) -> dict:
        out = dict(srv)
        port = self.ports.get(srv["_port"]) if srv.get("_port") else None
        addresses = {}
        if port:
            addresses[self.ext_net_name] = [
                {"addr": ip["ip_address"], "version": 6 if ":" in ip["ip_address"] else 4,
                 "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": port["mac_address"]}
                for ip in port["fixed_ips"]]
        out["addresses"] = addresses if out["status"] != "BUILD" else {}
        out["security_groups"] = [{"name": self.sgs[s]["name"]} for s in
                                  (port["security_groups"] if port else []) if s in self.sgs]
        return {k: v for k, v in out.items() if not k.startswith("_")}

    # -- HTTP ------------------------------------------------------------------------------
    def reply(self, request: Request) -> Reply | object:
        body = json.loads(request.raw) if request.raw else None
        segs = request.path.split("/")
        if segs[1] == "identity":
            region, service, path = "", "identity", "/" + "/".join(segs[2:])
        else:
            region, service = segs[1], segs[2] if len(segs) > 2 else ""
            path = "/" + "/".join(segs[3:])
        call = Call(request.method, region, service, path.rstrip("/") or "/",
                    request.query(keep_blank_values=True), body)
        with self.lock:
            self.calls.append(call)
            fault = self._fault(call)
            if fault and not fault.after:
                if fault.status == 0:
                    return DROP
                return Reply(fault.status, fault.body or {"error": "injected"})
            status, out, headers = self._route(call, request.headers)
            if status == 404 and out is None:
                self.unknown.append(call)
                out = {"itemNotFound": {"code": 404, "message": "no route"}}
            if fault and fault.after:
                return DROP
        return Reply(status, out, headers or {})

    def _fault(self, call: Call) -> Fault | None:
        for f in self.faults:
            if f.times and f.method == call.method and \
                    re.search(f.path, f"{call.service}{call.path}"):
                f.times -= 1
                return f
        return None

    def _route(self, c: Call, headers) -> tuple[int, dict | None, dict]:
        if c.service == "identity":
            return self._identity(c)
        if c.region not in self.regions:
            return 404, None, {}
        if not self._authorized(headers):
            return 401, {"error": {"code": 401, "message": "The request you have made "
                                   "requires authentication."}}, {}
        handler = {"compute": self._compute, "network": self._network,
                   "image": self._image}.get(c.service)
        if handler is None:
            return 404, None, {}
        return handler(c)

    # identity ---------------------------------------------------------------------------
    def _version_doc(self, name: str, service_url: str) -> dict:
        text = (FIXTURES / name).read_text()
        host = re.search(r"https?://[a-z-]+\.example\.com", text).group(0)
        return json.loads(text.replace(host, service_url))

    def _identity(self, c: Call):
        if c.method == "GET" and c.path == "/":
            doc = self._version_doc("discovery.json", f"{self.url}/identity")
            return 300, doc, {}
        if c.method == "GET" and c.path == "/v3":
            return 200, {"version": {"id": "v3.14", "status": "stable", "links": [
                {"rel": "self", "href": f"{self.url}/identity/v3/"}],
                "media-types": [{"base": "application/json",
                                 "type": "application/vnd.openstack.identity-v3+json"}]}}, {}
        if c.method == "POST" and c.path == "/v3/auth/tokens":
            ident = (c.body or {}).get("auth", {}).get("identity", {})
            ok = False
            if ident.get("methods") == ["password"]:
                user = ident["password"]["user"]
                ok = user.get("name") == USER and user.get("password") == PASSWORD
            elif ident.get("methods") == ["application_credential"]:
                cred = ident["application_credential"]
                ok = cred.get("id") == APP_CRED_ID and cred.get("secret") == APP_CRED_SECRET
            if not ok:
                return 401, {"error": {"code": 401, "message": "The request you have made "
                                       "requires authentication.", "title": "Unauthorized"}}, {}
            catalog = []
            for kind, suffix, name in (("compute", "compute/v2.1", "nova"),
                                       ("network", "network", "neutron"),
                                       ("image", "image", "glance"),
                                       ("identity", None, "keystone")):
                endpoints = [{"id": uuid.uuid4().hex, "interface": "public",
                              "region": region, "region_id": region,
                              "url": f"{self.url}/identity/v3" if suffix is None
                              else f"{self.url}/{region}/{suffix}"}
                             for region in self.regions]
                catalog.append({"id": uuid.uuid4().hex, "type": kind, "name": name,
                                "endpoints": endpoints})
            token = {"token": {
                "methods": ident["methods"], "expires_at": "2099-01-01T00:00:00.000000Z",
                "issued_at": "2026-12-05T00:00:00.000000Z",
                "user": {"id": "u-1", "name": USER, "domain": {"id": "default",
                                                              "name": "Default"}},
                "project": {"id": PROJECT_ID, "name": "jsov-project",
                            "domain": {"id": "default", "name": "Default"}},
                "roles": [{"id": "r-1", "name": "member"}], "catalog": catalog}}
            self.token = uuid.uuid4().hex
            return 201, token, {"X-Subject-Token": self.token}
        return 404, None, {}

    def _authorized(self, headers) -> bool:
        return bool(getattr(self, "token", None)) and headers.get("X-Auth-Token") == self.token

    # compute ----------------------------------------------------------------------------
    def _compute(self, c: Call):
        doc = json.loads((FIXTURES / "compute-version.json").read_text()
                         .replace("https://compute.example.com",
                                  f"{self.url}/{c.region}/compute"))
        if c.method == "GET" and c.path == "/":
            return 300, doc, {}
        if not (c.path + "/").startswith("/v2.1/"):
            return 404, None, {}
        p = c.path[len("/v2.1"):] or "/"
        if c.method == "GET" and p == "/":
            return 200, {"version": doc["versions"][1]}, {}
        if c.method == "GET" and p == "/flavors/detail":
            return 200, {"flavors": [dict(f, **{"OS-FLV-EXT-DATA:ephemeral": 0,
                                                "os-flavor-access:is_public": True,
                                                "swap": 0, "rxtx_factor": 1.0})
                                     for f in self.flavors]}, {}
        if c.method == "GET" and p == "/servers/detail":
            pattern = c.query.get("name")
            found = [self._server_view(s) for s in self.servers.values()
                     if s["_region"] == c.region
                     and (pattern is None or re.search(pattern, s["name"]))]
            return 200, {"servers": found}, {}
        if c.method == "POST" and p == "/servers":
            return self._create_server(c)
        m = re.fullmatch(r"/servers/([^/]+)", p)
        if m:
            srv = self.servers.get(m.group(1))
            if srv is None or srv["_region"] != c.region:
                return 404, {"itemNotFound": {"code": 404,
                                              "message": "Instance could not be found."}}, {}
            if c.method == "GET":
                if srv["status"] == "BUILD":
                    n = self._polls.get(srv["id"], 0) + 1
                    self._polls[srv["id"]] = n
                    view = self._server_view(srv)
                    if n > self.build_polls:
                        srv["status"] = self.build_ends
                        view = self._server_view(srv)
                    return 200, {"server": view}, {}
                if srv.get("_deleting"):
                    del self.servers[srv["id"]]
                    view = self._server_view(srv)
                    view["OS-EXT-STS:task_state"] = "deleting"
                    self._unbind(srv)
                    return 200, {"server": view}, {}
                return 200, {"server": self._server_view(srv)}, {}
            if c.method == "DELETE":
                srv["_deleting"] = True
                return 204, None, {}
        return 404, None, {}

    def _unbind(self, srv: dict) -> None:
        port = self.ports.get(srv.get("_port") or "")
        if port:
            port["device_id"] = ""
            port["device_owner"] = ""

    def _create_server(self, c: Call):
        body = (c.body or {}).get("server") or {}
        missing = [k for k in ("name", "flavorRef", "imageRef", "networks") if k not in body]
        if missing:
            return 400, {"badRequest": {"code": 400, "message": f"missing {missing}"}}, {}
        if body["flavorRef"] not in {f["id"] for f in self.flavors}:
            return 400, {"badRequest": {"code": 400, "message": "Flavor not found"}}, {}
        if body["imageRef"] not in {i["id"] for i in self.images}:
            return 400, {"badRequest": {"code": 400, "message": "Image not found"}}, {}
        port_id = None
        for net in body["networks"] if isinstance(body["networks"], list) else []:
            if "port" in net:
                port_id = net["port"]
                port = self.ports.get(port_id)
                if port is None:
                    return 400, {"badRequest": {"code": 400,
                                                "message": f"Port {port_id} not found"}}, {}
                if port.get("device_id"):
                    return 409, {"conflictingRequest": {
                        "code": 409, "message": f"Port {port_id} is still in use."}}, {}
        if port_id is None:
            return 400, {"badRequest": {"code": 400, "message": "a port is expected"}}, {}
        sid = str(uuid.uuid4())
        self.servers[sid] = {
            "id": sid, "name": body["name"], "status": "BUILD",
            "flavor": {"id": body["flavorRef"]}, "image": {"id": body["imageRef"]},
            "metadata": body.get("metadata") or {}, "user_data": body.get("user_data"),
            "key_name": body.get("key_name"), "tenant_id": PROJECT_ID,
            "created": "2026-12-05T00:00:00Z", "OS-EXT-STS:task_state": None,
            "OS-EXT-STS:vm_state": "building", "links": [], "_port": port_id,
            "_region": c.region}
        self.ports[port_id]["device_id"] = sid
        self.ports[port_id]["device_owner"] = "compute:nova"
        return 202, {"server": {"id": sid, "links": [], "adminPass": "not-used",
                                "OS-DCF:diskConfig": "MANUAL",
                                "security_groups": [{"name": "ignored"}]}}, {}

    # network ----------------------------------------------------------------------------
    def _network(self, c: Call):
        p = c.path
        if c.method == "GET" and p == "/":
            return 200, {"versions": [{"id": "v2.0", "status": "CURRENT", "links": [
                {"rel": "self", "href": f"{self.url}/{c.region}/network/v2.0/"}]}]}, {}
        if p == "/v2.0/networks" and c.method == "GET":
            nets = [n for n in (self.ext_net, self.private_net) if _matches(n, c.query)]
            return 200, {"networks": nets}, {}
        m = re.fullmatch(r"/v2.0/networks/([^/]+)", p)
        if m and c.method == "GET":
            for n in (self.ext_net, self.private_net):
                if n["id"] == m.group(1):
                    return 200, {"network": n}, {}
            return 404, {"NeutronError": {"type": "NetworkNotFound", "message": "x"}}, {}
        if p == "/v2.0/security-groups":
            if c.method == "GET":
                found = [self._sg_view(s) for s in self.sgs.values()
                         if s["region"] in ("*", c.region) and _matches(s, c.query)]
                return 200, {"security_groups": found}, {}
            if c.method == "POST":
                b = (c.body or {}).get("security_group") or {}
                sg = self._new_sg(b["name"], b.get("description", ""), c.region)
                for ethertype in ("IPv4", "IPv6"):
                    self._new_rule(sg["id"], direction="egress", ethertype=ethertype)
                return 201, {"security_group": self._sg_view(sg)}, {}
        m = re.fullmatch(r"/v2.0/security-groups/([^/]+)", p)
        if m:
            sg = self.sgs.get(m.group(1))
            if sg is None or sg["region"] not in ("*", c.region):
                return 404, _neutron_error("SecurityGroupNotFound", m.group(1)), {}
            if c.method == "GET":
                return 200, {"security_group": self._sg_view(sg)}, {}
            if c.method == "DELETE":
                if any(sg["id"] in port["security_groups"] for port in self.ports.values()):
                    return 409, _neutron_error("SecurityGroupInUse", sg["id"]), {}
                del self.sgs[sg["id"]]
                for rid in [r for r, v in self.rules.items() if v["security_group_id"] == sg["id"]]:
                    del self.rules[rid]
                return 204, None, {}
        if p == "/v2.0/security-group-rules":
            if c.method == "GET":
                return 200, {"security_group_rules": [r for r in self.rules.values()
                                                      if _matches(r, c.query)]}, {}
            if c.method == "POST":
                b = (c.body or {}).get("security_group_rule") or {}
                if b.get("security_group_id") not in self.sgs:
                    return 404, _neutron_error("SecurityGroupNotFound", "x"), {}
                key = ("direction", "ethertype", "protocol", "port_range_min",
                       "port_range_max", "remote_ip_prefix")
                for r in self.rules.values():
                    if r["security_group_id"] == b["security_group_id"] and \
                            all(r.get(k) == b.get(k) for k in key):
                        return 409, _neutron_error("SecurityGroupRuleExists", r["id"]), {}
                rule = self._new_rule(b["security_group_id"],
                                      **{k: b.get(k) for k in (*key, "description")
                                         if k in b})
                return 201, {"security_group_rule": rule}, {}
        if p == "/v2.0/ports":
            if c.method == "GET":
                return 200, {"ports": [_port_view(x) for x in self.ports.values()
                                       if x["_region"] == c.region
                                       and _matches(x, c.query)]}, {}
            if c.method == "POST":
                b = (c.body or {}).get("port") or {}
                if b.get("network_id") not in (self.ext_net["id"], self.private_net["id"]):
                    return 404, _neutron_error("NetworkNotFound", str(b.get("network_id"))), {}
                groups = b.get("security_groups")
                if groups is None:
                    groups = [self.default_sg_id]   # Neutron's behaviour: the project default
                for g in groups:
                    if g not in self.sgs:
                        return 404, _neutron_error("SecurityGroupNotFound", g), {}
                self._ip += 1
                port = {"id": f"port-{uuid.uuid4().hex[:12]}", "name": b.get("name", ""),
                        "description": b.get("description", ""),
                        "network_id": b["network_id"], "security_groups": list(groups),
                        "fixed_ips": [
                            {"subnet_id": "sub-v4", "ip_address": f"51.75.12.{self._ip}"},
                            {"subnet_id": "sub-v6",
                             "ip_address": f"2001:41d0:304:200::{self._ip:x}"}],
                        "mac_address": f"fa:16:3e:00:00:{self._ip:02x}", "device_id": "",
                        "device_owner": "", "status": "DOWN", "admin_state_up": True,
                        "project_id": PROJECT_ID, "tenant_id": PROJECT_ID, "tags": [],
                        "_region": c.region}
                self.ports[port["id"]] = port
                return 201, {"port": _port_view(port)}, {}
        m = re.fullmatch(r"/v2.0/ports/([^/]+)", p)
        if m:
            port = self.ports.get(m.group(1))
            if port is None or port["_region"] != c.region:
                return 404, _neutron_error("PortNotFound", m.group(1)), {}
            if c.method == "GET":
                return 200, {"port": _port_view(port)}, {}
            if c.method == "DELETE":
                del self.ports[port["id"]]
                return 204, None, {}
        return 404, None, {}

    # image ------------------------------------------------------------------------------
    def _image(self, c: Call):
        if c.method == "GET" and c.path == "/":
            doc = json.loads((FIXTURES / "image-version.json").read_text()
                             .replace("http://image.example.com", f"{self.url}/{c.region}/image"))
            return 300, doc, {}
        if c.method == "GET" and c.path == "/v2/images":
            found = [dict(i, status="active", visibility="public", min_ram=0, min_disk=0,
                          disk_format="qcow2", container_format="bare", tags=[])
                     for i in self.images if _matches(i, {k: v for k, v in c.query.items()
                                                          if k in ("name", "id")})]
            return 200, {"images": found, "schema": "/v2/schemas/images",
                         "first": "/v2/images"}, {}
        return 404, None, {}


def _matches(obj: dict, query: dict) -> bool:
    for k, v in query.items():
        if k in ("limit", "marker", "fields", "sort_key", "sort_dir"):
            continue
        have = obj.get(k)
        if isinstance(have, bool):
            have = str(have).lower()
        if isinstance(v, list):
            if str(have) not in v:
                return False
        elif str(have) != v:
            return False
    return True


def _port_view(port: dict) -> dict:
    return {k: v for k, v in port.items() if not k.startswith("_")}


def _neutron_error(kind: str, what: str) -> dict:
    return {"NeutronError": {"type": kind, "message": f"{kind}: {what}", "detail": ""}}
