"""3DS OUTSCALE through its OAPI (osc-sdk-python), in eu-west-2 or cloudgouv-eu-west-1 (the
SecNumCloud region: an option, never a requirement).

What create() makes, in order, each recorded as soon as it exists and then tagged
jitsi-sovereign=<name> (CreateTags: the OAPI takes no tags at creation):
1. a security group of our own (public cloud, no Net), named after the VM, with one
   CreateSecurityGroupRule per (planned rule, IPv4 source network), Flow Inbound. The OAPI
   has no IPv6 (its spec never mentions it, a VM gets no IPv6 address): the group holds
   the plan's IPv4 sources only, and the plan itself says so (group_rules below).
2. the VM: the newest Debian 13 OMI published by Outscale, the VM type checked (>= 4 GB),
   only our group (SecurityGroupIds), the subregion chosen from ReadSubregions, the
   admin user and key through cloud-init UserData (no Outscale keypair: one resource less
   to delete, and a keypair would outlive the VM; Outscale's images run cloud-init with
   the Ec2 datasource, their default user `outscale` gets no key). A ClientToken makes the
   call idempotent: the SDK's own retry of a lost answer cannot make a second VM, and the
   VM can be found by it when the answer is lost.
3. a public IP (CreatePublicIp) linked to the VM (LinkPublicIp) once it runs: a stable
   address (a VM's automatic one changes at each stop). The VM keeps its PrivateIp and
   the public one is NATed to it: the Server carries both and the inventory gets
   jitsi_sovereign_private_ip/public_ip, so the videobridge and coturn announce the public
   address (the engine does this for any server with a private address).

Credentials: the SDK's own lookup (osc_sdk_python.credentials.Profile): OSC_ACCESS_KEY and
OSC_SECRET_KEY, else the profile OSC_PROFILE (default "default") of ~/.osc/config.json
(OSC_CONFIG_FILE). The endpoint follows --region (https://api.<region>.outscale.com/api/v1)
unless OSC_ENDPOINT_API (or the profile's endpoints.api) names another one, as the SDK does.
Nothing here prints, logs or stores a credential; the SDK's own request log stays off.
"""

from __future__ import annotations

import base64
import functools
import ipaddress
import re
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from jitsi_sovereign.cloud import regions
from jitsi_sovereign.cloud.model import CreateRequest, Resource, Rule, Server, merge_rules
from jitsi_sovereign.cloud.provider import MIN_MEMORY_GB, common_checks, missing_sdk
from jitsi_sovereign.errors import UserError

if TYPE_CHECKING:
    from jitsi_sovereign.cloud.engine import Plan
    from jitsi_sovereign.cloud.state import State

MARK = "jitsi-sovereign"
# Outscale names its images Debian-12-<date>-<n> (Debian-12-2023.12.04-0); that Debian 13
# follows as Debian-13-<date>-<n> is an assumption (unverified): no image found = refused.
IMAGE_PATTERN = "Debian-13-*"
IMAGE_OWNER = "Outscale"    # the account alias of Outscale's own images: never a stranger's
# tina<generation>.c<cores>r<GiB>p<performance: 1 highest, 2 high, 3 medium>
TINA = re.compile(r"^tinav(\d+)\.c(\d+)r(\d+)p([123])$")
CREDENTIALS_FIX = (
    "export OSC_ACCESS_KEY and OSC_SECRET_KEY (Cockpit > Access keys), or write a profile "
    "in ~/.osc/config.json and export OSC_PROFILE=<name> (the file of osc-cli/oapi-cli)")
# The OAPI's "not found" codes (gateway_errors.yaml): the resource is gone, delete is done.
GONE = {"5020", "5025", "5026", "5063", "5071"}     # group, ip, ip link, vm, keypair
_ERRORS_DOC = "https://docs.outscale.com/api#errors"


def _mark(name: str) -> str:
    return f"{MARK}={name}"


def _tags(name: str) -> list[dict[str, str]]:
    return [{"Key": MARK, "Value": name}]


def group_rules(rules: list[Rule]) -> list[Rule]:
    """The plan's rules as an Outscale group can hold them: IPv4 sources only (the OAPI has
    no IPv6), a rule left with no source dropped."""
    out = []
    for rule in rules:
        v4 = tuple(s for s in rule.sources if ipaddress.ip_network(s).version == 4)
        if v4:
            out.append(Rule(rule.proto, rule.port_from, rule.port_to, v4))
    return merge_rules(out)


def oapi_rules(rules: list[Rule]) -> list[dict[str, Any]]:
    """The CreateSecurityGroupRule bodies (without SecurityGroupId): one per source."""
    return [{"Flow": "Inbound", "IpProtocol": r.proto, "FromPortRange": r.port_from,
             "ToPortRange": r.port_to, "IpRange": src}
            for r in group_rules(rules) for src in r.sources]


def rules_from_oapi(inbound: list[dict[str, Any]]) -> tuple[list[Rule], list[str]]:
    """A group's live InboundRules as Rules (merged), and what a Rule cannot hold, described
    (each a finding). A rule for every protocol (-1) admits every TCP and UDP port: it
    comes back as tcp and udp 1-65535 too, so the comparison names it."""
    rules, other = [], []
    for r in inbound:
        proto = str(r.get("IpProtocol", "-1")).lower()
        low, high = r.get("FromPortRange"), r.get("ToPortRange")
        ranges = list(r.get("IpRanges") or [])
        members = [m.get("SecurityGroupId", "?") for m in r.get("SecurityGroupsMembers") or []]
        if members:
            other.append(f"inbound {proto} from the members of group(s) {', '.join(members)}")
        if proto in ("tcp", "udp", "6", "17", "-1"):
            names = {"6": ["tcp"], "17": ["udp"], "-1": ["tcp", "udp"]}.get(proto, [proto])
            if proto == "-1":
                low, high = 1, 65535
            for src in ranges:
                rules += [Rule(n, low or 1, high or 65535, (src,)) for n in names]
                if proto == "-1":
                    other.append(f"inbound any protocol from {src} (ICMP and every port "
                                 "included)")
        else:
            other += [f"inbound {proto} from {src}" for src in ranges]
    return merge_rules(rules), other


def vm_type_memory(name: str, listed: dict[str, float]) -> float | None:
    """GiB of memory of VM type `name`: from ReadVmTypes when it lists it, else from a tina
    name (tinav6.c2r4p2: 4 GiB); None when neither knows it."""
    if name in listed:
        return listed[name]
    m = TINA.match(name)
    return float(m.group(3)) if m else None


def _error_codes(exc: Exception) -> tuple[int | None, list[str], str]:
    """(HTTP status, the OAPI error codes, a short text) of an SDK error: the service's
    answer, never the request (which holds no secret either: the signature is a header)."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    codes, text = [], ""
    if response is not None:
        try:
            body = response.json()
            for err in body.get("Errors") or []:
                codes.append(str(err.get("Code")))
                text += f" {err.get('Code')} {err.get('Type')} {err.get('Details') or ''}"
        except ValueError:
            text = (response.text or "")[:200]
    if not text:
        text = f"{type(exc).__name__}: {str(exc)[:200]}"
    return status, codes, re.sub(r"\s+", " ", text).strip()


def _quota(codes: list[str]) -> bool:
    return any(c.startswith("10") and len(c) == 5 for c in codes)


_PARSED: dict[str, Any] = {}


def _gateway_class():
    """The SDK's Gateway, parsing its spec (1 MB of YAML, ~2 s with ruamel) once per
    process instead of once per Gateway: a Gateway is made per region."""
    from osc_sdk_python.outscale_gateway import OutscaleGateway

    class Gateway(OutscaleGateway):
        def _load_gateway_structure(self, spec):
            if "structure" not in _PARSED:
                super()._load_gateway_structure(spec)
                _PARSED["structure"] = (self.gateway_structure, self.api_version,
                                        self.endpoint_api_version)
            (self.gateway_structure, self.api_version,
             self.endpoint_api_version) = _PARSED["structure"]

        def _load_errors(self):
            if "errors" not in _PARSED:
                super()._load_errors()
                _PARSED["errors"] = self.gateway_errors
            self.gateway_errors = _PARSED["errors"]

    return Gateway


class OscError(UserError):
    """An OAPI call refused: keeps the error codes for the callers that look at them."""

    def __init__(self, message: str, fix: str = "", codes: list[str] | None = None,
                 status: int | None = None) -> None:
        super().__init__(message, fix)
        self.codes = codes or []
        self.status = status


def _user_error(exc: Exception, doing: str) -> OscError:
    status, codes, text = _error_codes(exc)
    message = f"Outscale refused {doing}: {status or ''} {text}".replace("  ", " ")
    if status in (401, 403):
        return OscError(message, CREDENTIALS_FIX, codes, status)
    if _quota(codes):
        return OscError(message, "raise the account's quota (Cockpit > Quotas, or ask "
                        "Outscale support) or choose a smaller --size", codes, status)
    return OscError(message, f"run the same command again later ({_ERRORS_DOC}); `cloud "
                    "status` shows what exists, `cloud destroy` removes it", codes, status)


class OutscaleProvider:
    name = "outscale"
    # 2 vCPU of the 6th generation, 4 GiB (the floor), performance 2 ("high", the API's
    # default): a small meeting's videobridge + prosody + jicofo; give r8 for more people.
    default_size = "tinav6.c2r4p2"
    login_note = ("Outscale's Debian images log in as 'outscale' (no root login); cloud-init "
                  "gives the login user your key instead, no Outscale keypair is made")

    def __init__(self, *, wait_timeout: float = 600.0, poll_interval: float = 5.0,
                 api_timeout: float = 60.0, in_use_timeout: float = 120.0,
                 retries: int | None = None, retry_delay: float | None = None,
                 retry_jitter: float | None = None, max_rate: int | None = None,
                 **_ignored: Any) -> None:
        try:
            import osc_sdk_python  # noqa: F401  (the extra is present)
        except ImportError:
            raise missing_sdk("outscale", "osc-sdk-python") from None
        self.wait_timeout = wait_timeout
        self.poll_interval = poll_interval
        self.api_timeout = api_timeout
        self.in_use_timeout = in_use_timeout
        # The SDK retries 429 and 5xx answers and transport errors (3 times, backoff 1 s
        # doubling + up to 3 s jitter) and limits itself to 5 requests a second: its
        # defaults unless told (tests shorten them).
        self.sdk_options = {k: v for k, v in (("max_retries", retries),
                                              ("retry_backoff_factor", retry_delay),
                                              ("retry_backoff_jitter", retry_jitter),
                                              ("limiter_max_requests", max_rate))
                            if v is not None}
        self._gateways: dict[str, Any] = {}
        self._found: dict[str, dict[str, Any]] = {}

    @classmethod
    def plan_resources(cls, req: CreateRequest) -> list[tuple[str, str]]:
        return [
            ("security_group", f"security group {req.name}: the plan's inbound rules, IPv4 "
                               "sources (Outscale has no IPv6)"),
            ("server", f"VM {req.name}: newest {IMAGE_PATTERN} OMI by {IMAGE_OWNER}, type "
                       f"{req.size or cls.default_size}, only that group, cloud-init user "
                       f"{req.login_user}"),
            ("ip", "public IP linked to the VM (NATed to its private address)"),
        ]

    @classmethod
    def group_rules(cls, rules: list[Rule]) -> list[Rule]:
        return group_rules(rules)

    # -- gateway ---------------------------------------------------------------------------
    def _profile(self):
        """The SDK's merged profile (env, then the config file's profile), or UserError."""
        from osc_sdk_python.credentials import Profile
        try:
            return Profile.from_standard_configuration(None, None)
        except Exception as exc:    # OSC_PROFILE/OSC_CONFIG_FILE named but unreadable
            raise UserError(f"the Outscale config file or profile cannot be read "
                            f"({type(exc).__name__}; OSC_PROFILE / OSC_CONFIG_FILE)",
                            CREDENTIALS_FIX) from None

    def credentials_problem(self) -> str | None:
        profile = self._profile()
        missing = [n for n, v in (("OSC_ACCESS_KEY", profile.access_key),
                                  ("OSC_SECRET_KEY", profile.secret_key)) if not v]
        if missing:
            return (f"{' and '.join(missing)} not set (nor in the profile of "
                    "~/.osc/config.json)")
        return None

    def _gw(self, region: str):
        if region in self._gateways:
            return self._gateways[region]
        why = self.credentials_problem()
        if why:
            raise UserError(f"no Outscale credentials: {why}", CREDENTIALS_FIX)
        from osc_sdk_python import LOG_NONE
        gw = _gateway_class()(region=region, **self.sdk_options)
        gw.log.config(type=LOG_NONE)    # its log would hold every request body
        # The SDK calls requests without a timeout: every call gets ours.
        session = gw.call.session
        session.request = functools.partial(session.request, timeout=self.api_timeout)
        self._gateways[region] = gw
        return gw

    def _call(self, region: str, action: str, doing: str, **params: Any) -> dict:
        import requests
        gw = self._gw(region)
        try:
            return getattr(gw, action)(**params)
        except requests.RequestException as exc:
            raise _user_error(exc, doing) from None

    def _read_all(self, region: str, action: str, key: str, doing: str, **params) -> list:
        out, token = [], None
        for _ in range(100):
            page = self._call(region, action, doing, **params,
                              **({"NextPageToken": token} if token else {}))
            out += page.get(key) or []
            token = page.get("NextPageToken")
            if not token:
                break
        return out

    # -- check -----------------------------------------------------------------------------
    def _lookups(self, req: CreateRequest) -> tuple[dict[str, Any], list[UserError]]:
        region, size = req.region, req.size or self.default_size
        problems: list[UserError] = []
        found: dict[str, Any] = {}
        live_regions = {r.get("RegionName") for r in
                        self._call(region, "ReadRegions", "listing the regions")
                        .get("Regions") or []}
        if region not in live_regions:
            french = sorted(set(regions.REGIONS[self.name]) & live_regions)
            return found, [UserError(
                f"region {region!r} is not offered to this account (the API lists "
                f"{', '.join(sorted(r for r in live_regions if r)) or 'none'})",
                f"choose one of: {', '.join(french) or '(none in France)'}")]
        subs = [s for s in self._read_all(region, "ReadSubregions", "Subregions",
                                          "listing the subregions",
                                          Filters={"RegionNames": [region]})
                if s.get("RegionName", region) == region
                and s.get("State", "available") == "available"]
        if not subs:
            problems.append(UserError(f"no available subregion in {region}",
                                      "try the other region or later"))
        else:
            found["subregion"] = sorted(s["SubregionName"] for s in subs)[0]
        listed = {t["VmTypeName"]: float(t.get("MemorySize") or 0) for t in
                  self._read_all(region, "ReadVmTypes", "VmTypes", "listing the VM types")
                  if t.get("VmTypeName")}
        memory = vm_type_memory(size, listed)
        big = sorted(n for n, m in listed.items() if m >= MIN_MEMORY_GB)
        examples = ", ".join([self.default_size, "tinav6.c4r8p2", *big[:4]])
        if memory is None:
            problems.append(UserError(
                f"--size {size!r} is not a VM type of {region}",
                f"a tina type tinav<generation>.c<cores>r<GiB>p<1-3> with >= "
                f"{MIN_MEMORY_GB} GiB, e.g. {examples}"))
        elif memory < MIN_MEMORY_GB:
            problems.append(UserError(
                f"--size {size!r} has {memory:g} GiB of memory: a meeting server needs at "
                f"least {MIN_MEMORY_GB} GB", f"e.g. {examples}"))
        else:
            found["vm_type"] = size
        images = [i for i in self._read_all(
                      region, "ReadImages", "Images", "looking for the Debian 13 image",
                      Filters={"ImageNames": [IMAGE_PATTERN], "AccountAliases": [IMAGE_OWNER],
                               "States": ["available"]})
                  if i.get("State", "available") == "available"
                  and re.fullmatch(r"Debian-13-.*", i.get("ImageName") or "")]
        if not images:
            problems.append(UserError(
                f"no Debian 13 image ({IMAGE_PATTERN}, published by {IMAGE_OWNER}) in "
                f"{region}",
                "Outscale may not publish it under that name yet: look in Cockpit > Images "
                "and report the name"))
        else:
            newest = max(images, key=lambda i: (i.get("CreationDate") or "",
                                                i.get("ImageName") or ""))
            found["image"] = newest["ImageId"]
            found["image_name"] = newest.get("ImageName")
        return found, problems

    def _taken(self, region: str, name: str) -> list[str]:
        used = [f"security group {g['SecurityGroupId']}" for g in self._read_all(
            region, "ReadSecurityGroups", "SecurityGroups", "reading the groups",
            Filters={"SecurityGroupNames": [name]})]
        used += [f"{res.kind} {res.id} (tag {_mark(name)})"
                 for res in self._tagged(region, name)
                 if f"security group {res.id}" not in used]
        return used

    def check(self, req: CreateRequest) -> list[UserError]:
        problems = list(common_checks(req))
        try:
            regions.region(self.name, req.region)
        except UserError as exc:
            return [*problems, exc]
        if req.admin_cidrs and not any(ipaddress.ip_network(c, strict=False).version == 4
                                       for c in req.admin_cidrs):
            problems.append(UserError(
                "the admin networks are all IPv6, and an Outscale VM has no IPv6: SSH "
                "would be open to nobody", "add an IPv4 --admin-cidr"))
        try:
            why = self.credentials_problem()
        except UserError as exc:
            return [*problems, exc]
        if why:
            return [*problems, UserError(f"no Outscale credentials: {why}", CREDENTIALS_FIX)]
        try:
            found, more = self._lookups(req)
            problems += more
            self._found[req.region] = found
            taken = self._taken(req.region, req.name)
            if taken:
                problems.append(UserError(
                    f"the name {req.name!r} is already used in {req.region}: "
                    f"{', '.join(taken)}",
                    "give another --name, or `cloud destroy` the old one"))
        except UserError as exc:
            problems.append(exc)
        return problems

    # -- create ----------------------------------------------------------------------------
    def _tag(self, region: str, rid: str, name: str) -> None:
        self._call(region, "CreateTags", f"tagging {rid}", ResourceIds=[rid], Tags=_tags(name))

    def _vm(self, region: str, vm_id: str) -> dict | None:
        vms = self._call(region, "ReadVms", "reading the VM",
                         Filters={"VmIds": [vm_id]}).get("Vms") or []
        return vms[0] if vms else None

    def _wait_vm(self, region: str, vm_id: str, want: set[str], fail: set[str],
                 doing: str) -> dict | None:
        deadline = time.monotonic() + self.wait_timeout
        while True:
            vm = self._vm(region, vm_id)
            state = vm.get("State") if vm else None
            if (vm is None and None in want) or state in want:
                return vm
            if state in fail:
                raise UserError(f"the VM {vm_id} is {state} ({vm.get('StateReason') or ''})"
                                f" while {doing}", "look at its console output in Cockpit")
            if time.monotonic() > deadline:
                raise UserError(f"the VM {vm_id} is still {state} after "
                                f"{self.wait_timeout:.0f} s {doing}",
                                "retry later; Cockpit shows the VM")
            time.sleep(self.poll_interval)

    def create(self, req: CreateRequest, plan: Plan,
               record: Callable[[Resource], None]) -> Server:
        region, name = req.region, req.name
        found = self._found.get(region) or {}
        if not {"subregion", "vm_type", "image"} <= set(found):
            found, problems = self._lookups(req)
            if problems:
                raise problems[0]
        try:
            sg = self._call(region, "CreateSecurityGroup", "creating the security group",
                            SecurityGroupName=name,
                            Description=f"{_mark(name)}: the meeting server's openings")
        except OscError:
            # The answer may be lost after the group was made: find it by its name.
            for g in self._read_all(region, "ReadSecurityGroups", "SecurityGroups",
                                    "reading the groups",
                                    Filters={"SecurityGroupNames": [name]}):
                if (g.get("Description") or "").startswith(_mark(name)):
                    record(Resource("security_group", g["SecurityGroupId"], region,
                                    {"name": name}))
            raise
        sg_id = sg["SecurityGroup"]["SecurityGroupId"]
        record(Resource("security_group", sg_id, region, {"name": name}))
        self._tag(region, sg_id, name)
        for body in oapi_rules(plan.rules):
            self._call(region, "CreateSecurityGroupRule",
                       f"adding the rule {body['FromPortRange']}/{body['IpProtocol']} from "
                       f"{body['IpRange']}", SecurityGroupId=sg_id, **body)

        token = f"{name}-{uuid.uuid4().hex[:12]}"
        try:
            vms = self._call(
                region, "CreateVms", "creating the VM", ImageId=found["image"],
                VmType=found["vm_type"], SecurityGroupIds=[sg_id],
                Placement={"SubregionName": found["subregion"]}, ClientToken=token,
                UserData=base64.b64encode(plan.cloud_init.encode()).decode()).get("Vms")
        except OscError:
            for vm in self._read_all(region, "ReadVms", "Vms", "reading the VMs",
                                     Filters={"ClientTokens": [token]}):
                record(Resource("server", vm["VmId"], region, {"name": name}))
            raise
        if not vms:
            raise UserError("CreateVms answered without a VM", "run create again")
        vm_id = vms[0]["VmId"]
        record(Resource("server", vm_id, region, {"name": name}))
        groups = [g.get("SecurityGroupId") for g in vms[0].get("SecurityGroups") or []]
        if groups and groups != [sg_id]:
            raise UserError(f"the VM got groups {groups}, not only {sg_id}: refusing to keep "
                            "it behind them", "report this: the cloud attached a group")
        self._tag(region, vm_id, name)
        vm = self._wait_vm(region, vm_id, {"running"},
                           {"terminated", "shutting-down", "stopped", "stopping"},
                           "waiting for it to run")

        ip = self._call(region, "CreatePublicIp", "allocating the public IP")["PublicIp"]
        record(Resource("ip", ip["PublicIpId"], region,
                        {"name": name, "address": ip.get("PublicIp")}))
        self._tag(region, ip["PublicIpId"], name)
        self._call(region, "LinkPublicIp", "linking the public IP to the VM",
                   PublicIpId=ip["PublicIpId"], VmId=vm_id)
        vm = self._vm(region, vm_id) or vm
        if vm.get("PublicIp") != ip.get("PublicIp"):
            raise UserError(f"the VM shows the public address {vm.get('PublicIp')}, not "
                            f"{ip.get('PublicIp')} just linked", "run create again")
        return Server(vm_id, ip.get("PublicIp"), None, vm.get("PrivateIp"))

    # -- delete ----------------------------------------------------------------------------
    def _gone_ok(self, region: str, action: str, doing: str, **params: Any) -> bool:
        """The call made; False when the OAPI says the resource does not exist."""
        try:
            self._call(region, action, doing, **params)
            return True
        except OscError as exc:
            if GONE & set(exc.codes):
                return False
            raise

    def delete(self, res: Resource) -> None:
        region = res.region
        if res.kind == "ip":
            ips = self._call(region, "ReadPublicIps", "reading the public IP",
                             Filters={"PublicIpIds": [res.id]}).get("PublicIps") or []
            if not ips:
                return
            if ips[0].get("LinkPublicIpId"):
                self._gone_ok(region, "UnlinkPublicIp", f"unlinking the public IP {res.id}",
                              LinkPublicIpId=ips[0]["LinkPublicIpId"])
            self._gone_ok(region, "DeletePublicIp", f"releasing the public IP {res.id}",
                          PublicIpId=res.id)
        elif res.kind == "server":
            vm = self._vm(region, res.id)
            if vm is None or vm.get("State") == "terminated":
                return
            if self._gone_ok(region, "DeleteVms", f"deleting the VM {res.id}",
                             VmIds=[res.id]):
                self._wait_vm(region, res.id, {None, "terminated"}, set(),
                              "waiting for its deletion")
        elif res.kind == "security_group":
            deadline = time.monotonic() + self.in_use_timeout
            while True:     # a VM just terminated may hold the group for a moment
                try:
                    self._gone_ok(region, "DeleteSecurityGroup",
                                  f"deleting the security group {res.id}",
                                  SecurityGroupId=res.id)
                    return
                except OscError as exc:
                    conflict = any(c.startswith("9") for c in exc.codes)
                    if not conflict or time.monotonic() > deadline:
                        raise
                    time.sleep(self.poll_interval)
        else:
            raise UserError(f"the Outscale provider does not know resource kind "
                            f"{res.kind!r}", "edit the state file or report this")

    # -- status / residue ------------------------------------------------------------------
    def status(self, state: State) -> dict[str, Any]:
        region = state.region
        ids = {r.kind: r.id for r in state.resources}
        out: dict[str, Any] = {"server": None, "rules": [], "groups": [],
                               "other_rules": [], "findings": []}
        vm = self._vm(region, ids["server"]) if "server" in ids else None
        if vm is not None and vm.get("State") != "terminated":
            out["server"] = {"id": vm["VmId"], "state": vm.get("State"),
                             "public_ipv4": vm.get("PublicIp"), "public_ipv6": None,
                             "private_ipv4": vm.get("PrivateIp"), "type": vm.get("VmType"),
                             "subregion": (vm.get("Placement") or {}).get("SubregionName")}
            out["groups"] = sorted(g["SecurityGroupId"] for g in vm.get("SecurityGroups") or [])
        if "security_group" in ids:
            groups = self._call(region, "ReadSecurityGroups", "reading the group",
                                Filters={"SecurityGroupIds": [ids["security_group"]]}
                                ).get("SecurityGroups") or []
            if not groups:
                out["findings"].append(f"our security group {ids['security_group']} is gone")
            else:
                out["rules"], out["other_rules"] = rules_from_oapi(
                    groups[0].get("InboundRules") or [])
                out["findings"] += [f"rule the plan does not have: {o}"
                                    for o in out["other_rules"]
                                    if not o.startswith("inbound any protocol")]
            if out["server"] is not None and ids["security_group"] not in out["groups"]:
                out["rules"] = []
                out["findings"].append(f"our security group {ids['security_group']} is not "
                                       "attached to the VM")
        if "ip" in ids:
            ips = self._call(region, "ReadPublicIps", "reading the public IP",
                             Filters={"PublicIpIds": [ids["ip"]]}).get("PublicIps") or []
            if not ips:
                out["findings"].append(f"the public IP {ids['ip']} is gone")
            elif out["server"] is not None and ips[0].get("VmId") != out["server"]["id"]:
                out["findings"].append(f"the public IP {ips[0].get('PublicIp')} is not linked "
                                       "to the VM")
        return out

    def _tagged(self, region: str, name: str) -> list[Resource]:
        tag = {"Tags": [_mark(name)]}
        out = [Resource("security_group", g["SecurityGroupId"], region,
                        {"name": g.get("SecurityGroupName")})
               for g in self._read_all(region, "ReadSecurityGroups", "SecurityGroups",
                                       "the residue check (groups)", Filters=tag)]
        out += [Resource("server", v["VmId"], region, {"name": name})
                for v in self._read_all(region, "ReadVms", "Vms", "the residue check (VMs)",
                                        Filters=tag)
                if v.get("State") != "terminated"]
        out += [Resource("ip", p["PublicIpId"], region, {"address": p.get("PublicIp")})
                for p in self._read_all(region, "ReadPublicIps", "PublicIps",
                                        "the residue check (public IPs)", Filters=tag)]
        return out

    def residue(self, name: str) -> list[Resource]:
        """What still carries the tag jitsi-sovereign=<name>: in the regions this run used
        (destroy has just worked in the state's), else in each allowed region, skipping one
        that refuses the credentials (an Outscale account lives in one region). One query
        per distinct endpoint: OSC_ENDPOINT_API points every region at the same one."""
        used = list(self._gateways)
        out, seen = [], set()
        for region in used or list(regions.REGIONS[self.name]):
            endpoint = self._gw(region).call.profile.get_endpoint("api")
            if endpoint in seen:
                continue
            try:
                out += self._tagged(region, name)
            except OscError as exc:
                if used or exc.status not in (401, 403):
                    raise
                continue
            seen.add(endpoint)
        return out

