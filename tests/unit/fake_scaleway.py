"""A Scaleway API on loopback for the contract tests: real HTTP from the real SDK.

Every request is checked against ROUTES (method, path, query, body fields and their types,
enums); a request that matches no route or breaks its row is answered 400/404 and kept in
`violations` (the tests assert it stays empty). The rows come from two sources, said per
row: the SDK's recorded cassettes shipped in its wheel (scaleway/instance/v1/tests/
cassettes/*.yaml: the requests the SDK sent to the real API, and its answers, used here as
response templates), and, for the calls no cassette records (security groups, the
marketplace, server types, volumes, DNS), the SDK's own marshalling code and the API's
reference. A test proves that every recorded cassette request passes its row.

Resources live in memory and behave as the real API is documented to: a created server is
"stopped" with a local root volume; poweron makes it "starting" then "running"; terminate
deletes it with its local volumes after a few reads; DELETE of a running server is refused;
a security group in use cannot be deleted (409). Failure injection: `inject(method,
path_regex, status, body)` answers the next matching request(s) with that error.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml
from fake_http import LoopbackApi, Reply, Request

SECRET = "4b8a7c02-5c1d-4a39-9c8e-6a3c1f0d2e71"
ACCESS = "SCWABCDEFGHIJKLMNOPQ"
PROJECT = "11111111-1111-1111-1111-111111111111"
ZONES = ("fr-par-1", "fr-par-2", "fr-par-3")
GIB = 1024 ** 3


def cassette_dir() -> Path:
    import scaleway.instance.v1 as instance

    return Path(instance.__file__).parent / "tests" / "cassettes"


@functools.cache
def cassette_interactions() -> tuple[dict, ...]:
    """Every recorded (request, response) of the instance API cassettes in the wheel."""
    out = []
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for path in sorted(cassette_dir().glob("*.yaml")):
        for item in yaml.load(path.read_text(), Loader=loader)["interactions"]:
            out.append({"file": path.name, **item})
    return tuple(out)


def _recorded(method: str, pattern: str) -> dict:
    for item in cassette_interactions():
        request = item["request"]
        if request["method"] == method and re.search(pattern, urlsplit(request["uri"]).path):
            return json.loads(item["response"]["body"]["string"])
    raise LookupError(f"no cassette records {method} {pattern}")


# ---- the request table -------------------------------------------------------------------

S, B, I, L, D = str, bool, int, list, dict   # noqa: E741


@dataclass
class Route:
    method: str
    path: str                          # regex on the path, named groups
    handler: str
    source: str                        # where the row comes from
    required: dict[str, type] = field(default_factory=dict)
    optional: dict[str, type] = field(default_factory=dict)
    enums: dict[str, tuple] = field(default_factory=dict)
    one_of: tuple[str, ...] = ()       # exactly one of these body fields
    query: tuple[str, ...] = ()        # accepted query parameters
    raw_body: bool = False             # a text body (user data)

    def match(self, method: str, path: str):
        return re.fullmatch(self.path, path) if method == self.method else None


Z = r"/instance/v1/zones/(?P<zone>[^/]+)"
CASSETTE = "SDK cassettes (recorded requests and responses)"
MARSHAL = "SDK marshalling + API reference (no cassette records this call)"
LIST_Q = ("page", "per_page", "organization", "project", "tags", "name")
RULE_ENUMS = {"action": ("accept", "drop"), "protocol": ("TCP", "UDP", "ICMP", "ANY"),
              "direction": ("inbound", "outbound")}

ROUTES = [
    Route("GET", Z + "/products/servers", "server_types", MARSHAL, query=("page", "per_page")),
    Route("GET", "/marketplace/v2/local-images", "local_images", MARSHAL,
          query=("image_label", "zone", "page", "page_size", "type", "arch")),
    Route("GET", Z + "/servers", "list_servers", CASSETTE,
          query=(*LIST_Q, "commercial_type", "state")),
    Route("POST", Z + "/servers", "create_server", CASSETTE,
          required={"commercial_type": S, "name": S, "dynamic_ip_required": B, "protected": B},
          optional={"image": S, "volumes": D, "boot_type": S, "routed_ip_enabled": B,
                    "public_ips": L, "public_ip": S, "security_group": S, "tags": L,
                    "enable_ipv6": B, "placement_group": S, "project": S,
                    "organization": S, "admin_password_encryption_ssh_key_id": S},
          one_of=("project", "organization")),
    Route("GET", Z + "/servers/(?P<id>[^/]+)", "get_server", CASSETTE),
    Route("DELETE", Z + "/servers/(?P<id>[^/]+)", "delete_server", CASSETTE),
    Route("PATCH", Z + "/servers/(?P<id>[^/]+)/user_data/(?P<key>[^/]+)", "set_user_data",
          CASSETTE, raw_body=True),
    Route("POST", Z + "/servers/(?P<id>[^/]+)/action", "server_action", MARSHAL,
          required={"action": S}, optional={"name": S, "volumes": D, "disable_ipv6": B},
          enums={"action": ("poweron", "poweroff", "stop_in_place", "reboot", "terminate",
                            "backup", "enable_routed_ip")}),
    Route("POST", Z + "/ips", "create_ip", CASSETTE,
          optional={"type": S, "tags": L, "server": S, "project": S, "organization": S},
          enums={"type": ("routed_ipv4", "routed_ipv6")}, one_of=("project", "organization")),
    Route("GET", Z + "/ips", "list_ips", CASSETTE, query=(*LIST_Q, "type")),
    Route("DELETE", Z + "/ips/(?P<id>[^/]+)", "delete_ip", CASSETTE),
    Route("POST", Z + "/security_groups", "create_sg", MARSHAL,
          required={"name": S, "description": S, "stateful": B},
          optional={"tags": L, "inbound_default_policy": S, "outbound_default_policy": S,
                    "enable_default_security": B, "organization_default": B,
                    "project_default": B, "project": S, "organization": S},
          enums={"inbound_default_policy": ("accept", "drop"),
                 "outbound_default_policy": ("accept", "drop")},
          one_of=("project", "organization")),
    Route("GET", Z + "/security_groups", "list_sgs", MARSHAL,
          query=(*LIST_Q, "project_default")),
    Route("GET", Z + "/security_groups/(?P<id>[^/]+)", "get_sg", MARSHAL),
    Route("DELETE", Z + "/security_groups/(?P<id>[^/]+)", "delete_sg", MARSHAL),
    Route("PUT", Z + "/security_groups/(?P<id>[^/]+)/rules", "set_rules", MARSHAL,
          required={"rules": L}),
    Route("GET", Z + "/security_groups/(?P<id>[^/]+)/rules", "list_rules", MARSHAL,
          query=("page", "per_page")),
    Route("DELETE", Z + "/volumes/(?P<id>[^/]+)", "delete_volume", MARSHAL),
    Route("DELETE", "/block/v1alpha1/zones/(?P<zone>[^/]+)/volumes/(?P<id>[^/]+)",
          "delete_volume", CASSETTE),
    Route("GET", "/domain/v2beta1/dns-zones", "list_zones", MARSHAL,
          query=("domain", "dns_zone", "dns_zones", "page", "page_size", "project_id",
                 "organization_id", "order_by")),
    Route("GET", "/domain/v2beta1/dns-zones/(?P<zone>[^/]+)/records", "list_records", MARSHAL,
          query=("name", "type", "id", "page", "page_size", "project_id", "order_by")),
    Route("PATCH", "/domain/v2beta1/dns-zones/(?P<zone>[^/]+)/records", "update_records",
          MARSHAL, required={"changes": L, "disallow_new_zone_creation": B},
          optional={"return_all_records": B, "serial": I}),
]

RULE_FIELDS = ({"action": S, "protocol": S, "direction": S, "ip_range": S, "position": I},
               {"dest_port_from": I, "dest_port_to": I, "editable": B, "zone": S, "id": S})
RECORD_FIELDS = ({"data": S, "name": S, "ttl": I, "type": S},
                 {"priority": I, "comment": S, "id": S})


def check_fields(body: Any, required: dict, optional: dict, where: str) -> list[str]:
    if not isinstance(body, dict):
        return [f"{where}: body is not an object"]
    problems = [f"{where}: missing {k}" for k in required if k not in body]
    for key, value in body.items():
        want = required.get(key) or optional.get(key)
        if want is None:
            problems.append(f"{where}: unknown field {key}")
        elif not isinstance(value, want) or (want is I and isinstance(value, bool)):
            problems.append(f"{where}: {key} is {type(value).__name__}, not {want.__name__}")
    return problems


def check_request(route: Route, query: dict, body: Any) -> list[str]:
    where = f"{route.method} {route.path}"
    problems = [f"{where}: unknown query parameter {q}" for q in query if q not in route.query]
    if route.raw_body:
        return problems
    if route.method in ("GET", "DELETE"):
        if body not in (None, {}, b"", ""):
            problems.append(f"{where}: unexpected body {body!r}")
        return problems
    problems += check_fields(body, route.required, route.optional, where)
    for key, allowed in route.enums.items():
        if key in body and body[key] not in allowed:
            problems.append(f"{where}: {key}={body[key]!r} not in {allowed}")
    if route.one_of and sum(k in body for k in route.one_of) != 1:
        problems.append(f"{where}: exactly one of {route.one_of}")
    if route.handler == "set_rules":
        for i, rule in enumerate(body.get("rules") or []):
            problems += check_fields(rule, *RULE_FIELDS, f"{where} rules[{i}]")
            for key, allowed in RULE_ENUMS.items():
                if rule.get(key) not in allowed:
                    problems.append(f"{where} rules[{i}]: {key}={rule.get(key)!r}")
    if route.handler == "update_records":
        for i, change in enumerate(body.get("changes") or []):
            if len(change) != 1 or next(iter(change)) not in ("add", "set", "delete", "clear"):
                problems.append(f"{where} changes[{i}]: one of add/set/delete/clear")
            for record in (change.get("add") or {}).get("records", []):
                problems += check_fields(record, *RECORD_FIELDS, f"{where} changes[{i}]")
    return problems


# ---- the fake ----------------------------------------------------------------------------

class ApiError(Exception):
    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message


SERVER_TYPES = {  # name: (ncpus, ram GiB, end_of_service)
    "STARDUST1-S": (1, 1, False), "DEV1-S": (2, 2, False), "DEV1-M": (3, 4, False),
    "DEV1-L": (4, 8, False), "DEV1-XL": (4, 12, False), "PRO2-XXS": (2, 8, False),
    "GP1-XS": (4, 16, False), "START1-M": (4, 4, True),
}
LOCAL_TYPES = ("DEV1-S", "DEV1-M", "DEV1-L", "DEV1-XL", "GP1-XS", "START1-M")


class FakeScaleway(LoopbackApi):
    def __init__(self, *, boot_polls: int = 2, delete_polls: int = 2) -> None:
        self.boot_polls = boot_polls
        self.delete_polls = delete_polls
        self.servers: dict[str, dict] = {}
        self.ips: dict[str, dict] = {}
        self.sgs: dict[str, dict] = {}
        self.rules: dict[str, list[dict]] = {}
        self.volumes: dict[str, dict] = {}
        self.user_data: dict[tuple[str, str], bytes] = {}
        self.zones = {"example.org": {"domain": "example.org", "subdomain": ""}}
        self.records: dict[str, list[dict]] = {"example.org": []}
        self.log: list[dict] = []
        self.violations: list[str] = []
        self.faults: list[dict] = []
        self._lock = threading.Lock()
        self._addresses = (f"127.0.0.{n}" for n in itertools.count(2))
        self._server_tpl = _recorded("POST", r"/servers$")["server"]
        self._ip_tpl = _recorded("POST", r"/ips$")["ip"]
        self._volume_tpl = next(iter(_recorded("GET", r"/servers/[^/]+$")["server"]
                                     ["volumes"].values()))
        self._listen()

    # ---- lifecycle ---------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.origin

    def env(self) -> dict[str, str]:
        return {"SCW_ACCESS_KEY": ACCESS, "SCW_SECRET_KEY": SECRET,
                "SCW_DEFAULT_PROJECT_ID": PROJECT, "SCW_API_URL": self.url}

    def inject(self, method: str, path: str, status: int, body: dict | None = None,
               times: int = 1, headers: dict | None = None) -> None:
        self.faults.append({"method": method, "path": path, "status": status, "times": times,
                            "body": body or {"type": "error", "message": f"injected {status}"},
                            "headers": headers or {}})

    def empty(self) -> bool:
        return not (self.servers or self.ips or self.sgs or self.volumes
                    or any(self.records.values()))

    def creating_calls(self) -> list[str]:
        return [f"{e['method']} {e['path']}" for e in self.log
                if e["method"] in ("POST", "PUT", "PATCH")]

    # ---- HTTP --------------------------------------------------------------------

    def reply(self, request: Request) -> Reply:
        path = unquote(request.path)
        query = request.query()
        token = request.headers.get("x-auth-token")
        entry = {"method": request.method, "path": path, "query": query, "raw": request.raw,
                 "token": token}
        with self._lock:
            self.log.append(entry)
            status, payload, headers = self._dispatch(request.method, path, query,
                                                      request.raw, token)
        return Reply(status, payload, headers)

    def _dispatch(self, method, path, query, raw, token):
        if token != SECRET:
            return 401, {"type": "denied_authentication",
                         "message": "invalid authentication token"}, {}
        for fault in self.faults:
            if fault["times"] > 0 and fault["method"] == method and \
                    re.search(fault["path"], path):
                fault["times"] -= 1
                return fault["status"], fault["body"], fault["headers"]
        for route in ROUTES:
            found = route.match(method, path)
            if found:
                break
        else:
            self.violations.append(f"no route for {method} {path}")
            return 404, {"type": "not_found", "message": "no such route"}, {}
        body: Any = raw
        if not route.raw_body and raw:
            try:
                body = json.loads(raw)
            except ValueError:
                self.violations.append(f"{method} {path}: body is not JSON")
                return 400, {"type": "invalid_request_error", "message": "bad JSON"}, {}
        problems = check_request(route, query, body)
        args = found.groupdict()
        if "zone" in args and not path.startswith("/domain/") and args["zone"] not in ZONES:
            problems.append(f"{method} {path}: zone {args['zone']} is not a zone we serve")
        if problems:
            self.violations += problems
            return 400, {"message": "Validation Error", "type": "invalid_arguments",
                         "fields": {p: [p] for p in problems}}, {}
        try:
            result = getattr(self, "h_" + route.handler)(body=body, query=query, **args)
        except ApiError as exc:
            return exc.status, {"type": exc.kind, "message": exc.message}, {}
        if isinstance(result, tuple):
            return result
        return (204, None, {}) if result is None else (200, result, {})

    # ---- helpers -----------------------------------------------------------------

    @staticmethod
    def _page(items: list, query: dict, key: str, size_key: str = "per_page"):
        page = int(query.get("page", 1))
        size = int(query.get(size_key, 50))
        chunk = items[(page - 1) * size: page * size]
        return 200, {key: chunk}, {"x-total-count": str(len(items))}

    @staticmethod
    def _tags_ok(item: dict, query: dict) -> bool:
        tags = query.get("tags")
        if not tags:
            return True
        return set(str(tags).split(",")) <= set(item.get("tags") or [])

    def _get(self, table: dict, rid: str, what: str) -> dict:
        if rid not in table:
            raise ApiError(404, "unknown_resource", f"{what} {rid} not found")
        return table[rid]

    # ---- instance: products, images ----------------------------------------------

    def h_server_types(self, zone, body, query):
        servers = {name: {"monthly_price": 10.0, "hourly_price": 0.01, "alt_names": [],
                          "per_volume_constraint": None, "volumes_constraint": None,
                          "ncpus": cpus, "ram": ram * GIB, "arch": "x86_64", "gpu": 0,
                          "network": None, "capabilities": None,
                          "scratch_storage_max_size": 0, "block_bandwidth": 0,
                          "end_of_service": eos, "scratch_storage_max_volumes_count": 0}
                   for name, (cpus, ram, eos) in SERVER_TYPES.items()}
        page = int(query.get("page", 1))
        return 200, {"servers": servers if page == 1 else {}}, \
            {"x-total-count": str(len(servers))}

    def h_local_images(self, body, query):
        zone = query.get("zone")
        images = []
        if query.get("image_label") == "debian_trixie" and zone in ZONES:
            images = [
                {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"trixie-local-{zone}")),
                 "compatible_commercial_types": list(LOCAL_TYPES), "arch": "x86_64",
                 "zone": zone, "label": "debian_trixie", "type": "instance_local"},
                {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"trixie-sbs-{zone}")),
                 "compatible_commercial_types": ["PRO2-XXS"], "arch": "x86_64",
                 "zone": zone, "label": "debian_trixie", "type": "instance_sbs"}]
        return self._page(images, query, "local_images", "page_size")

    # ---- servers -----------------------------------------------------------------

    def h_list_servers(self, zone, body, query):
        items = [s for s in self.servers.values() if s["zone"] == zone
                 and self._tags_ok(s, query)
                 and (not query.get("name") or query["name"] in s["name"])]
        return self._page([self._server_view(s) for s in items], query, "servers")

    def h_create_server(self, zone, body, query):
        image = body.get("image")
        local = [i for z in ZONES for i in self.h_local_images(
            None, {"zone": z, "image_label": "debian_trixie"})[1]["local_images"]]
        known = {i["id"]: i for i in local}
        if image and image not in known:
            raise ApiError(404, "unknown_resource", f"image {image} not found")
        if body["commercial_type"] not in SERVER_TYPES:
            raise ApiError(400, "invalid_arguments", "unknown commercial type")
        sg_id = body.get("security_group")
        if sg_id:
            self._get(self.sgs, sg_id, "security group")
        for ip_id in body.get("public_ips") or []:
            if self._get(self.ips, ip_id, "ip").get("server"):
                raise ApiError(409, "conflict", f"ip {ip_id} is already attached")
        server = copy.deepcopy(self._server_tpl)
        sid = str(uuid.uuid4())
        volumes = {}
        if image:
            vol = copy.deepcopy(self._volume_tpl)
            vtype = "sbs_volume" if known[image]["type"] == "instance_sbs" else "l_ssd"
            vol.update(id=str(uuid.uuid4()), volume_type=vtype, boot=False, zone=zone,
                       server={"id": sid, "name": body["name"]}, name=f"{body['name']}-root")
            self.volumes[vol["id"]] = vol
            volumes["0"] = vol
        server.update(id=sid, name=body["name"], hostname=body["name"], zone=zone,
                      commercial_type=body["commercial_type"], tags=body.get("tags", []),
                      project=body.get("project", PROJECT), state="stopped",
                      routed_ip_enabled=body.get("routed_ip_enabled", False),
                      dynamic_ip_required=body["dynamic_ip_required"], volumes=volumes,
                      security_group={"id": sg_id, "name": self.sgs[sg_id]["name"]} if sg_id
                      else {"id": "1c1fc99f-b2de-408d-9eb0-da801a3e2744",
                            "name": "Default security group"},
                      allowed_actions=["poweron", "backup"], _polls=0, _pending=None)
        for ip_id in body.get("public_ips") or []:
            self.ips[ip_id]["server"] = {"id": sid, "name": body["name"]}
            self.ips[ip_id]["state"] = "attached"
        self.servers[sid] = server
        return 201, {"server": self._server_view(server)}, {}

    def _server_view(self, server: dict) -> dict:
        view = {k: v for k, v in server.items() if not k.startswith("_")}
        view["public_ips"] = [
            {"id": ip["id"], "address": ip["address"], "dynamic": False,
             "gateway": "62.210.0.1", "netmask": "32", "family": "inet",
             "provisioning_mode": "dhcp", "tags": ip["tags"], "state": "attached",
             "ipam_id": ip["ipam_id"]}
            for ip in self.ips.values() if (ip.get("server") or {}).get("id") == server["id"]]
        view["public_ip"] = view["public_ips"][0] if view["public_ips"] else None
        return view

    def _advance(self, server: dict) -> None:
        server["_polls"] += 1
        if server["_pending"] == "running" and server["_polls"] >= self.boot_polls:
            server.update(state="running", _pending=None)
        elif server["_pending"] == "terminate" and server["_polls"] >= self.delete_polls:
            self._remove_server(server, keep_local_volumes=False)

    def _remove_server(self, server: dict, *, keep_local_volumes: bool) -> None:
        sid = server["id"]
        del self.servers[sid]
        for vol in list(self.volumes.values()):
            if (vol.get("server") or {}).get("id") == sid:
                if vol["volume_type"] == "l_ssd" and not keep_local_volumes:
                    del self.volumes[vol["id"]]
                else:
                    vol["server"] = None
        for ip in self.ips.values():
            if (ip.get("server") or {}).get("id") == sid:
                ip.update(server=None, state="detached")
        for key in [k for k in self.user_data if k[0] == sid]:
            del self.user_data[key]

    def h_get_server(self, zone, id, body, query):
        server = self._get(self.servers, id, "instance")
        self._advance(server)
        if id not in self.servers:
            raise ApiError(404, "unknown_resource", f"instance {id} not found")
        return {"server": self._server_view(server)}

    def h_delete_server(self, zone, id, body, query):
        server = self._get(self.servers, id, "instance")
        if server["state"] != "stopped":
            raise ApiError(400, "invalid_request_error",
                           "instance should be stopped before being deleted")
        self._remove_server(server, keep_local_volumes=True)

    def h_set_user_data(self, zone, id, key, body, query):
        self._get(self.servers, id, "instance")
        self.user_data[(id, key)] = body
        return 204, None, {}

    def h_server_action(self, zone, id, body, query):
        server = self._get(self.servers, id, "instance")
        action = body["action"]
        if action == "poweron":
            if server["state"] != "stopped":
                raise ApiError(400, "precondition_failed", "instance is not stopped")
            server.update(state="starting", _pending="running", _polls=0)
        elif action == "terminate":
            if server["state"] == "stopped":
                raise ApiError(400, "precondition_failed", "instance is stopped: delete it")
            server.update(state="stopping", _pending="terminate", _polls=0)
        else:
            raise ApiError(400, "invalid_arguments", f"action {action} not simulated")
        return 202, {"task": {"id": str(uuid.uuid4()), "description": action,
                              "status": "pending", "progress": 0}}, {}

    # ---- IPs ---------------------------------------------------------------------

    def h_create_ip(self, zone, body, query):
        ip = copy.deepcopy(self._ip_tpl)
        kind = body.get("type", "routed_ipv4")
        ip.update(id=str(uuid.uuid4()), zone=zone, type=kind, tags=body.get("tags", []),
                  project=body.get("project", PROJECT), state="detached", server=None,
                  ipam_id=str(uuid.uuid4()))
        if kind == "routed_ipv4":
            ip.update(address=next(self._addresses), prefix="")
        self.ips[ip["id"]] = ip
        return 201, {"ip": ip}, {}

    def h_list_ips(self, zone, body, query):
        items = [i for i in self.ips.values() if i["zone"] == zone and self._tags_ok(i, query)]
        return self._page(items, query, "ips")

    def h_delete_ip(self, zone, id, body, query):
        self._get(self.ips, id, "ip")
        del self.ips[id]

    # ---- security groups -----------------------------------------------------------

    def _sg_view(self, sg: dict) -> dict:
        view = dict(sg)
        view["servers"] = [{"id": s["id"], "name": s["name"]} for s in self.servers.values()
                           if (s.get("security_group") or {}).get("id") == sg["id"]]
        return view

    def h_create_sg(self, zone, body, query):
        sg = {"id": str(uuid.uuid4()), "name": body["name"], "description": body["description"],
              "enable_default_security": True,
              "inbound_default_policy": body.get("inbound_default_policy", "accept"),
              "outbound_default_policy": body.get("outbound_default_policy", "accept"),
              "organization": PROJECT, "project": body.get("project", PROJECT),
              "tags": body.get("tags", []), "project_default": False,
              "stateful": body["stateful"], "state": "available", "zone": zone,
              "creation_date": "2026-12-05T00:00:00+00:00",
              "modification_date": "2026-12-05T00:00:00+00:00"}
        self.sgs[sg["id"]] = sg
        # Scaleway's default security (enable_default_security): outbound SMTP dropped,
        # rules not editable.
        self.rules[sg["id"]] = [
            {"id": str(uuid.uuid4()), "protocol": "TCP", "direction": "outbound",
             "action": "drop", "ip_range": "0.0.0.0/0", "dest_port_from": port,
             "dest_port_to": None, "position": n, "editable": False, "zone": zone}
            for n, port in enumerate((25, 465, 587), start=1)]
        return 201, {"security_group": self._sg_view(sg)}, {}

    def h_list_sgs(self, zone, body, query):
        items = [self._sg_view(g) for g in self.sgs.values() if g["zone"] == zone
                 and self._tags_ok(g, query)
                 and (not query.get("name") or query["name"] in g["name"])]
        return self._page(items, query, "security_groups")

    def h_get_sg(self, zone, id, body, query):
        return {"security_group": self._sg_view(self._get(self.sgs, id, "security group"))}

    def h_delete_sg(self, zone, id, body, query):
        sg = self._get(self.sgs, id, "security group")
        if self._sg_view(sg)["servers"]:
            raise ApiError(409, "conflict", "security group is in use by an instance")
        del self.sgs[id]
        del self.rules[id]

    def h_set_rules(self, zone, id, body, query):
        self._get(self.sgs, id, "security group")
        fixed = [r for r in self.rules[id] if not r["editable"]]
        new = [{"id": str(uuid.uuid4()), "dest_port_from": None, "dest_port_to": None,
                **{k: v for k, v in r.items() if k != "id"}, "editable": True, "zone": zone}
               for r in body["rules"]]
        self.rules[id] = fixed + new
        return {"rules": self.rules[id]}

    def h_list_rules(self, zone, id, body, query):
        self._get(self.sgs, id, "security group")
        return self._page(self.rules[id], query, "rules")

    # ---- volumes -----------------------------------------------------------------

    def h_delete_volume(self, zone, id, body, query):
        vol = self._get(self.volumes, id, "volume")
        if vol.get("server"):
            raise ApiError(412, "precondition_failed", "volume is attached to an instance")
        del self.volumes[id]

    # ---- DNS ---------------------------------------------------------------------

    def h_list_zones(self, body, query):
        want = query.get("dns_zone")
        items = [{"domain": z["domain"], "subdomain": z["subdomain"], "ns": [],
                  "ns_default": ["ns0.dom.scw.cloud"], "ns_master": [], "status": "active",
                  "project_id": PROJECT, "linked_products": []}
                 for name, z in self.zones.items() if not want or want == name]
        return self._page(items, query, "dns_zones", "page_size")

    def h_list_records(self, zone, body, query):
        if zone not in self.zones:
            raise ApiError(404, "not_found", f"zone {zone} not found")
        items = [r for r in self.records[zone]
                 if r["name"] == query.get("name", r["name"])
                 and r["type"] == query.get("type", r["type"])
                 and r["id"] == query.get("id", r["id"])]
        return self._page(items, query, "records", "page_size")

    def h_update_records(self, zone, body, query):
        if zone not in self.zones:
            raise ApiError(404, "not_found", f"zone {zone} not found")
        added = []
        for change in body["changes"]:
            if "add" in change:
                for record in change["add"]["records"]:
                    made = {"priority": 0, "comment": None, **record,
                            "id": str(uuid.uuid4())}
                    self.records[zone].append(made)
                    added.append(made)
            elif "delete" in change:
                rid = change["delete"].get("id")
                if not any(r["id"] == rid for r in self.records[zone]):
                    raise ApiError(404, "not_found", f"record {rid} not found")
                self.records[zone] = [r for r in self.records[zone] if r["id"] != rid]
            else:
                raise ApiError(400, "invalid_arguments", "change not simulated")
        return {"records": self.records[zone] if body.get("return_all_records") else added}

    def resolve(self, name: str) -> set[str]:
        """What the fake's zones answer for `name` (A records): the create's DNS wait."""
        for zone in self.zones:
            if name == zone or name.endswith("." + zone):
                rel = name[: -len(zone)].rstrip(".")
                return {r["data"] for r in self.records[zone]
                        if r["name"] == rel and r["type"] == "A"}
        return set()
