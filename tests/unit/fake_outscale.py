"""An Outscale OAPI on loopback for the contract tests: real HTTP from the real SDK
(osc-sdk-python, pointed here by OSC_ENDPOINT_API=http://127.0.0.1:PORT/api/v1).

Every request body is validated with jsonschema against `<Action>Request` of the OpenAPI
spec shipped in the SDK's wheel (osc_sdk_python/resources/outscale.yaml; its request
schemas say additionalProperties: false), and every answer the fake builds is validated
against `<Action>Response` (errors against ErrorResponse) before it is sent. A request that
fails its schema is answered 400 and kept in `invalid`; an answer that fails its schema is
kept in `bad_answers`; an action the fake does not serve is kept in `unknown`: the tests
assert all three stay empty. Each request must carry an OSC4-HMAC-SHA256 Authorization
naming the access key and the region, and X-Osc-Date; the secret key must appear nowhere
in what is sent (`leaks`).

Resources live in memory: a VM is "pending", then "running" after a read; DeleteVms makes
it "shutting-down", then "terminated" (one read), then gone; a group used by a VM that is
not terminated cannot be deleted (409, code of "busy"); a VM outside a Net gets an automatic
public address, replaced by a linked public IP. Error codes are the wheel's
gateway_errors.yaml (looked up by name: `code("no-such-vm")`). Failure injection:
`fail(action, status, name, times, skip)`; `lose_answer(action)`: the call is done, the
connection dropped before the answer.
"""

from __future__ import annotations

import copy
import fnmatch
import functools
import itertools
import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from fake_http import DROP, LoopbackApi, Reply, Request

ACCESS = "AKFAKE0123456789ABCD"
SECRET = "SKFAKEabcdefghijklmnopqrstuvwxyz0123456"
ACCOUNT = "123456789012"


def _wheel() -> Path:
    import osc_sdk_python
    return Path(osc_sdk_python.__file__).parent / "resources"


@functools.cache
def spec() -> dict:
    return yaml.load((_wheel() / "outscale.yaml").read_text(),
                     Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@functools.cache
def gateway_errors() -> dict[str, tuple[str, str]]:
    """name -> (code, type), from the wheel's gateway_errors.yaml."""
    data = yaml.safe_load((_wheel() / "gateway_errors.yaml").read_text())
    out: dict[str, tuple[str, str]] = {}
    for code, item in data.items():
        out.setdefault(item["Name"].strip(), (str(code), item["Type"]))
    return out


def code(name: str) -> str:
    return gateway_errors()[name][0]


# The HTTP status the fake gives each error type (an assumption: the spec does not say).
STATUS = {"InvalidParameterValue": 400, "InvalidResource": 400, "InvalidState": 409,
          "ResourceConflict": 409, "TooManyResources (QuotaExceded)": 400}


def _nullable(node: Any) -> Any:
    """OpenAPI 3.0 `nullable: true` as JSON Schema (type or null)."""
    if isinstance(node, dict):
        node = {k: _nullable(v) for k, v in node.items()}
        if node.pop("nullable", False) and "type" in node:
            node["type"] = [node["type"], "null"]
        return node
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


@functools.cache
def _components() -> dict:
    return _nullable(spec()["components"])


@functools.cache
def validator(schema_name: str):
    import jsonschema
    comps = _components()
    if schema_name not in comps["schemas"]:
        raise KeyError(schema_name)
    return jsonschema.Draft7Validator(
        {"$ref": f"#/components/schemas/{schema_name}", "components": comps})


def problems(schema_name: str, body: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}"
            for e in validator(schema_name).iter_errors(body)]


class ApiError(Exception):
    def __init__(self, name: str, details: str = "", status: int | None = None) -> None:
        super().__init__(name)
        self.code, self.type = gateway_errors()[name]
        self.status = status or STATUS[self.type]
        self.details = details


@dataclass
class Injection:
    action: str
    status: int
    name: str | None
    times: int
    skip: int


class FakeOutscale(LoopbackApi):
    def __init__(self, region: str = "eu-west-2",
                 regions: tuple[str, ...] = ("eu-west-2", "cloudgouv-eu-west-1", "us-east-2",
                                             "us-west-1", "ap-northeast-1")) -> None:
        self.region = region
        self.regions = regions
        self.calls: list[tuple[str, dict]] = []
        self.invalid: list[str] = []
        self.bad_answers: list[str] = []
        self.unknown: list[str] = []
        self.leaks: list[str] = []
        self.unauthorized: list[str] = []     # actions refused 401 (signature, region)
        self.groups: dict[str, dict] = {}
        self.vms: dict[str, dict] = {}
        self.ips: dict[str, dict] = {}
        self.tags: dict[str, list[dict]] = {}
        self.injections: list[Injection] = []
        self.lost: dict[str, int] = {}
        self.pending_reads = 1
        self.vm_types = [("tinav6.c2r4p2", 2, 4.0), ("tinav6.c4r8p2", 4, 8.0),
                         ("tinav6.c2r2p2", 2, 2.0), ("t2.small", 1, 2.0),
                         ("m4.large", 2, 8.0)]
        self.images = [
            ("ami-d9937936", "Debian-12-2023.12.04-0", "Outscale", "2023-12-04T00:00:00.000Z"),
            ("ami-13000001", "Debian-13-2025.09.01-0", "Outscale", "2025-09-01T00:00:00.000Z"),
            ("ami-13000002", "Debian-13-2026.06.01-0", "Outscale", "2026-06-01T00:00:00.000Z"),
            # a stranger's public image with a newer date: must never be chosen
            ("ami-666", "Debian-13-2027.01.01-0", "someone", "2027-01-01T00:00:00.000Z"),
        ]
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._listen()

    # -- server ----------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        return f"{self.origin}/api/v1"

    # -- test helpers ----------------------------------------------------------------------
    def fail(self, action: str, status: int, name: str | None = None, times: int = 1,
             skip: int = 0) -> None:
        """The next `times` calls of `action` (after `skip` good ones) answer `status`
        with the error `name` of gateway_errors.yaml (None: no OAPI code, e.g. 429/500)."""
        self.injections.append(Injection(action, status, name, times, skip))

    def lose_answer(self, action: str, times: int = 1000) -> None:
        """`action` is carried out, then the connection is closed without an answer."""
        self.lost[action] = times

    def actions(self) -> list[str]:
        return [a for a, _ in self.calls]

    def writes(self) -> list[str]:
        return [a for a in self.actions() if not a.startswith("Read")]

    def creating(self) -> list[str]:
        return [a for a in self.actions() if a.startswith(("Create", "Link"))]

    def bodies(self, action: str) -> list[dict]:
        return [b for a, b in self.calls if a == action]

    def live(self) -> dict[str, list[str]]:
        """What exists (terminated VMs are not counted)."""
        return {"groups": sorted(self.groups),
                "vms": sorted(k for k, v in self.vms.items() if v["State"] != "terminated"),
                "ips": sorted(self.ips)}

    def empty(self) -> bool:
        return not any(self.live().values())

    # -- HTTP ------------------------------------------------------------------------------
    def reply(self, request: Request) -> Reply | object:
        if request.method != "POST":
            self.unknown.append(f"{request.method} {request.target}")
            return Reply(405)
        return self._answer(request)

    def _answer(self, req: Request) -> Reply | object:
        raw = req.text()
        match = re.fullmatch(r"/api/v1/([A-Za-z]+)", req.target)
        if not match:
            self.unknown.append(f"POST {req.target}")
            return self._send(404, {})
        action = match.group(1)
        everything = raw + "".join(f"{k}: {v}\n" for k, v in req.headers.items())
        if SECRET in everything:
            self.leaks.append(action)
        auth = req.headers.get("Authorization") or ""
        if not re.match(rf"OSC4-HMAC-SHA256 Credential={ACCESS}/\d{{8}}/{self.region}/api/"
                        r"osc4_request, SignedHeaders=\S+, Signature=[0-9a-f]{64}$", auth) \
                or not req.headers.get("X-Osc-Date"):
            self.unauthorized.append(action)
            return self._error(action, ApiError("access-keys-not-found",
                                                     "no or wrong signature", 401))
        try:
            body = json.loads(raw or "{}")
        except ValueError:
            self.invalid.append(f"{action}: not JSON")
            return self._error(action, ApiError("invalid-configuration", "not JSON"))
        with self._lock:
            self.calls.append((action, body))
            try:
                found = problems(f"{action}Request", body)
            except KeyError:
                self.unknown.append(action)
                return self._send(501, {})
            if found:
                self.invalid.append(f"{action}: {'; '.join(found)}")
                return self._error(action, ApiError("invalid-configuration",
                                                         "; ".join(found)[:300]))
            for inj in list(self.injections):
                if inj.action != action:
                    continue
                if inj.skip:
                    inj.skip -= 1
                    break
                inj.times -= 1
                if inj.times <= 0:
                    self.injections.remove(inj)
                if inj.name:
                    return self._error(action, ApiError(inj.name, "injected",
                                                             inj.status))
                return self._send(inj.status, {"Errors": [
                    {"Code": str(inj.status), "Type": "Injected", "Details": "injected"}],
                    "ResponseContext": self._ctx()}, check="ErrorResponse")
            handler = getattr(self, f"_{action}", None)
            if handler is None:
                self.unknown.append(action)
                return self._send(501, {})
            try:
                answer = handler(body)
            except ApiError as exc:
                return self._error(action, exc)
            if self.lost.get(action):
                self.lost[action] -= 1
                return DROP
            answer["ResponseContext"] = self._ctx()
            return self._send(200, answer, check=f"{action}Response")

    def _ctx(self) -> dict:
        return {"RequestId": f"req-{next(self._ids):08d}"}

    def _error(self, action: str, exc: ApiError) -> Reply:
        return self._send(exc.status, {"Errors": [{"Code": exc.code, "Type": exc.type,
                                                  "Details": exc.details}],
                                      "ResponseContext": self._ctx()}, check="ErrorResponse")

    def _send(self, status: int, body: dict, check: str | None = None) -> Reply:
        if check:
            found = problems(check, body)
            if found:
                self.bad_answers.append(f"{check}: {'; '.join(found)}")
        return Reply(status, body)

    # -- helpers ---------------------------------------------------------------------------
    def _id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids):08x}"

    def _tags_of(self, rid: str) -> list[dict]:
        return copy.deepcopy(self.tags.get(rid, []))

    def _tag_match(self, rid: str, filters: dict) -> bool:
        tags = {t["Key"]: t["Value"] for t in self.tags.get(rid, [])}
        if "Tags" in filters and not any(f"{k}={v}" in filters["Tags"]
                                         for k, v in tags.items()):
            return False
        if "TagKeys" in filters and not set(filters["TagKeys"]) & set(tags):
            return False
        return "TagValues" not in filters or bool(set(filters["TagValues"])
                                                  & set(tags.values()))

    def _vm_out(self, vm: dict) -> dict:
        out = {k: v for k, v in vm.items() if k not in ("reads", "n") and v is not None}
        out["Tags"] = self._tags_of(vm["VmId"])
        return copy.deepcopy(out)

    def _advance(self, vm: dict) -> None:
        vm["reads"] += 1
        if vm["State"] == "pending" and vm["reads"] > self.pending_reads:
            vm["State"] = "running"
            vm["PublicIp"] = vm["PublicIp"] or f"171.33.{vm['n']}.1"
        elif vm["State"] == "shutting-down":
            vm["State"] = "terminated"
        elif vm["State"] == "terminated":
            self.vms.pop(vm["VmId"], None)

    # -- reads -----------------------------------------------------------------------------
    def _ReadRegions(self, body: dict) -> dict:
        return {"Regions": [{"RegionName": r, "Endpoint": f"api.{r}.outscale.com"}
                            for r in self.regions]}

    def _ReadSubregions(self, body: dict) -> dict:
        names = (body.get("Filters") or {}).get("RegionNames") or list(self.regions)
        return {"Subregions": [{"RegionName": r, "SubregionName": f"{r}{s}",
                                "State": "available", "LocationCode": f"{r}-{s}"}
                               for r in names if r in self.regions for s in "ba"]}

    def _ReadVmTypes(self, body: dict) -> dict:
        names = (body.get("Filters") or {}).get("VmTypeNames")
        return {"VmTypes": [{"VmTypeName": n, "VcoreCount": c, "MemorySize": m,
                             "BsuOptimized": False, "MaxPrivateIps": 1}
                            for n, c, m in self.vm_types if not names or n in names]}

    def _ReadImages(self, body: dict) -> dict:
        f = body.get("Filters") or {}
        out = []
        for iid, name, alias, date in self.images:
            if f.get("ImageNames") and not any(fnmatch.fnmatchcase(name, p)
                                               for p in f["ImageNames"]):
                continue
            if f.get("AccountAliases") and alias not in f["AccountAliases"]:
                continue
            if f.get("States") and "available" not in f["States"]:
                continue
            out.append({"ImageId": iid, "ImageName": name, "AccountAlias": alias,
                        "AccountId": ACCOUNT if alias == "Outscale" else "999999999999",
                        "State": "available", "CreationDate": date, "Architecture": "x86_64",
                        "RootDeviceName": "/dev/sda1", "RootDeviceType": "bsu"})
        return {"Images": out}

    def _ReadSecurityGroups(self, body: dict) -> dict:
        f = body.get("Filters") or {}
        out = []
        for g in self.groups.values():
            if f.get("SecurityGroupIds") and g["SecurityGroupId"] not in f["SecurityGroupIds"]:
                continue
            if f.get("SecurityGroupNames") and g["SecurityGroupName"] not in \
                    f["SecurityGroupNames"]:
                continue
            if not self._tag_match(g["SecurityGroupId"], f):
                continue
            out.append({**copy.deepcopy(g), "Tags": self._tags_of(g["SecurityGroupId"])})
        return {"SecurityGroups": out}

    def _ReadVms(self, body: dict) -> dict:
        f = body.get("Filters") or {}
        out = []
        for vm in list(self.vms.values()):
            if f.get("VmIds") and vm["VmId"] not in f["VmIds"]:
                continue
            if f.get("ClientTokens") and vm.get("ClientToken") not in f["ClientTokens"]:
                continue
            if not self._tag_match(vm["VmId"], f):
                continue
            self._advance(vm)
            if vm["VmId"] in self.vms:
                out.append(self._vm_out(vm))
        return {"Vms": out}

    def _ReadPublicIps(self, body: dict) -> dict:
        f = body.get("Filters") or {}
        out = []
        for ip in self.ips.values():
            if f.get("PublicIpIds") and ip["PublicIpId"] not in f["PublicIpIds"]:
                continue
            if not self._tag_match(ip["PublicIpId"], f):
                continue
            out.append({**{k: v for k, v in ip.items() if v is not None},
                        "Tags": self._tags_of(ip["PublicIpId"])})
        return {"PublicIps": copy.deepcopy(out)}

    # -- writes ----------------------------------------------------------------------------
    def _CreateSecurityGroup(self, body: dict) -> dict:
        name = body["SecurityGroupName"]
        if any(g["SecurityGroupName"] == name for g in self.groups.values()):
            raise ApiError("group-already-exists", name)
        gid = self._id("sg")
        self.groups[gid] = {"SecurityGroupId": gid, "SecurityGroupName": name,
                            "Description": body["Description"], "AccountId": ACCOUNT,
                            "InboundRules": [], "OutboundRules": []}
        return {"SecurityGroup": copy.deepcopy(self.groups[gid])}

    def _CreateSecurityGroupRule(self, body: dict) -> dict:
        group = self.groups.get(body["SecurityGroupId"])
        if group is None:
            raise ApiError("no-such-group", body["SecurityGroupId"])
        if body["Flow"] != "Inbound":
            raise ApiError("invalid-configuration", "Outbound is for Nets only")
        key = (body.get("IpProtocol", "-1"), body.get("FromPortRange"),
               body.get("ToPortRange"))
        for rule in group["InboundRules"]:
            if (rule["IpProtocol"], rule.get("FromPortRange"), rule.get("ToPortRange")) == key:
                if body.get("IpRange") in rule["IpRanges"]:
                    raise ApiError("duplicate-port", "the rule exists")
                rule["IpRanges"].append(body["IpRange"])
                break
        else:
            rule = {"IpProtocol": key[0], "IpRanges": [body["IpRange"]]}
            if key[1] is not None:
                rule["FromPortRange"], rule["ToPortRange"] = key[1], key[2]
            group["InboundRules"].append(rule)
        return {"SecurityGroup": copy.deepcopy(group)}

    def _CreateTags(self, body: dict) -> dict:
        for rid in body["ResourceIds"]:
            if rid not in self.groups and rid not in self.vms and rid not in self.ips:
                raise ApiError("no-such-resource", rid)
        for rid in body["ResourceIds"]:
            have = {t["Key"]: t for t in self.tags.setdefault(rid, [])}
            for tag in body["Tags"]:
                have[tag["Key"]] = dict(tag)
            self.tags[rid] = list(have.values())
        return {}

    def _CreateVms(self, body: dict) -> dict:
        token = body.get("ClientToken")
        same = [v for v in self.vms.values() if token and v.get("ClientToken") == token]
        if same:        # idempotent: the VM made by the first call
            return {"Vms": [self._vm_out(same[0])]}
        if body.get("VmType") not in {n for n, _c, _m in self.vm_types} and not \
                re.fullmatch(r"tinav\d+\.c\d+r\d+p[123]", body.get("VmType", "")):
            raise ApiError("no-such-instance-type", body.get("VmType", ""))
        if body["ImageId"] not in {i[0] for i in self.images}:
            raise ApiError("no-such-image", body["ImageId"])
        groups = []
        for gid in body.get("SecurityGroupIds") or []:
            if gid not in self.groups:
                raise ApiError("no-such-group", gid)
            groups.append({"SecurityGroupId": gid,
                           "SecurityGroupName": self.groups[gid]["SecurityGroupName"]})
        if not groups:      # the account's default group, as the real API does
            groups = [{"SecurityGroupId": "sg-default", "SecurityGroupName": "default"}]
        sub = (body.get("Placement") or {}).get("SubregionName") or f"{self.region}a"
        n = next(self._ids)
        vid = f"i-{n:08x}"
        self.vms[vid] = {"VmId": vid, "State": "pending", "VmType": body.get("VmType"),
                         "ImageId": body["ImageId"], "ClientToken": token,
                         "Placement": {"SubregionName": sub, "Tenancy": "default"},
                         "PrivateIp": f"10.9.{n % 250}.{n % 200 + 2}", "PublicIp": None,
                         "SecurityGroups": groups, "Architecture": "x86_64",
                         "UserData": body.get("UserData"), "reads": 0, "n": n % 250}
        return {"Vms": [self._vm_out(self.vms[vid])]}

    def _DeleteVms(self, body: dict) -> dict:
        out = []
        for vid in body["VmIds"]:
            vm = self.vms.get(vid)
            if vm is None:
                raise ApiError("no-such-vm", vid)
            previous = vm["State"]
            vm["State"] = "shutting-down" if previous != "terminated" else previous
            vm["reads"] = 0
            for ip in self.ips.values():    # a linked IP comes back to the account
                if ip.get("VmId") == vid:
                    for k in ("VmId", "LinkPublicIpId", "PrivateIp", "NicId"):
                        ip.pop(k, None)
            out.append({"VmId": vid, "PreviousState": previous, "CurrentState": vm["State"]})
        return {"Vms": out}

    def _DeleteSecurityGroup(self, body: dict) -> dict:
        gid = body.get("SecurityGroupId")
        if gid not in self.groups:
            raise ApiError("no-such-group", str(gid))
        if any(gid in [g["SecurityGroupId"] for g in vm["SecurityGroups"]]
               and vm["State"] != "terminated" for vm in self.vms.values()):
            raise ApiError("busy", f"{gid} is used by a VM")
        del self.groups[gid]
        self.tags.pop(gid, None)
        return {}

    def _CreatePublicIp(self, body: dict) -> dict:
        n = next(self._ids)
        pid = f"eipalloc-{n:08x}"
        self.ips[pid] = {"PublicIpId": pid, "PublicIp": f"80.247.{n % 250}.{n % 200 + 1}"}
        return {"PublicIp": copy.deepcopy(self.ips[pid])}

    def _LinkPublicIp(self, body: dict) -> dict:
        ip = self.ips.get(body.get("PublicIpId"))
        if ip is None:
            raise ApiError("no-such-ip", str(body.get("PublicIpId")))
        vm = self.vms.get(body.get("VmId"))
        if vm is None or vm["State"] == "terminated":
            raise ApiError("no-such-vm", str(body.get("VmId")))
        if vm["State"] != "running":
            raise ApiError("invalid-vm-state", vm["State"])
        link = f"eipassoc-{next(self._ids):08x}"
        ip.update({"VmId": vm["VmId"], "LinkPublicIpId": link, "PrivateIp": vm["PrivateIp"]})
        vm["PublicIp"] = ip["PublicIp"]
        return {"LinkPublicIpId": link}

    def _UnlinkPublicIp(self, body: dict) -> dict:
        for ip in self.ips.values():
            if ip.get("LinkPublicIpId") == body.get("LinkPublicIpId"):
                vm = self.vms.get(ip.get("VmId"))
                if vm:
                    vm["PublicIp"] = None
                for k in ("VmId", "LinkPublicIpId", "PrivateIp", "NicId"):
                    ip.pop(k, None)
                return {}
        raise ApiError("no-such-ip-association", str(body.get("LinkPublicIpId")))

    def _DeletePublicIp(self, body: dict) -> dict:
        pid = body.get("PublicIpId")
        ip = self.ips.get(pid)
        if ip is None:
            raise ApiError("no-such-ip", str(pid))
        if ip.get("LinkPublicIpId"):
            raise ApiError("busy", f"{pid} is linked")
        del self.ips[pid]
        self.tags.pop(pid, None)
        return {}
