"""Scaleway Instances (and Domains & DNS) through the official SDK (`scaleway`, the
optional extra jitsi-sovereign[scaleway]). The SDK is imported in the constructors only:
`cloud create --dry-run` and `cloud regions` work without it.

What is created, in order (each recorded in the state file as soon as it exists, each
tagged jitsi-sovereign=<name>):
1. a security group: inbound policy drop, stateful, outbound accept, its rules set at once
   (PUT .../security_groups/{id}/rules) from the firewall role's openings;
2. a routed public IPv4 (flexible IP);
3. the server: Debian 13 (the marketplace image labelled debian_trixie for this zone and
   type, resolved at run time), that IP, that group (a Scaleway server has exactly one
   group), the cloud-init user-data under the key "cloud-init"; then powered on. Its root
   volume(s) are listed in the server's entry (deleted with it).
The SSH key goes through cloud-init, not through the project's IAM SSH keys: those are
installed on every new server of the project, for every member.

Credentials: SCW_ACCESS_KEY, SCW_SECRET_KEY, SCW_DEFAULT_PROJECT_ID, or the scw config
file (~/.config/scw/config.yaml, SCW_CONFIG_PATH, SCW_PROFILE), read by the SDK's
Client.from_config_file_and_env. Never printed: error messages name the variables, not
their values.

Every call is bounded: the SDK sets no timeout on its requests, so each call runs with
one (connect 10 s, read 60 s; see _TimedRequests); 429 and 502/503/504 answers are retried a few
times with a capped back-off (a POST only on 429: the request was refused, not half-done).
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import time
from collections.abc import Callable
from typing import Any

from jitsi_sovereign.cloud import regions
from jitsi_sovereign.cloud.model import CreateRequest, Resource, Rule, Server
from jitsi_sovereign.cloud.provider import MIN_MEMORY_GB, common_checks, missing_sdk
from jitsi_sovereign.errors import UserError

TAG = "jitsi-sovereign"
IMAGE_LABEL = "debian_trixie"          # Debian 13
USER_DATA_KEY = "cloud-init"
CREDENTIALS = ("SCW_ACCESS_KEY, SCW_SECRET_KEY and SCW_DEFAULT_PROJECT_ID (or the scw "
               "config file: ~/.config/scw/config.yaml, SCW_CONFIG_PATH, SCW_PROFILE)")
GIB = 1024 ** 3


def _import_sdk():
    try:
        import scaleway  # noqa: F401
        from scaleway import Client
    except ImportError:
        raise missing_sdk("scaleway", "scaleway") from None
    return Client


def _client(client=None):
    Client = _import_sdk()
    if client is not None:
        return client
    # The SDK warns through logging when the config file is absent (then the environment
    # alone is used): not worth a line on the user's terminal.
    log = logging.getLogger("scaleway")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        return Client.from_config_file_and_env()
    finally:
        log.setLevel(level)


def credentials_problem(client) -> UserError | None:
    """Missing or malformed credentials, named without their values."""
    from scaleway_core.validations.string_validation import (
        is_access_key,
        is_project_id,
        is_secret_key,
    )

    missing = [name for name, value in (("SCW_ACCESS_KEY", client.access_key),
                                        ("SCW_SECRET_KEY", client.secret_key),
                                        ("SCW_DEFAULT_PROJECT_ID", client.default_project_id))
               if not value]
    if missing:
        return UserError(f"Scaleway credentials missing: {', '.join(missing)}",
                         f"export {CREDENTIALS}; make an API key in the console "
                         "(IAM > API keys)")
    bad = [name for name, ok in (("SCW_ACCESS_KEY", is_access_key(client.access_key)),
                                 ("SCW_SECRET_KEY", is_secret_key(client.secret_key)),
                                 ("SCW_DEFAULT_PROJECT_ID",
                                  is_project_id(client.default_project_id))) if not ok]
    if bad:
        return UserError(f"Scaleway credentials malformed: {', '.join(bad)} (values not "
                         "shown)", "an access key looks like SCWXXXXXXXXXXXXXXXXX, the "
                         "secret key and the project id are UUIDs")
    return None


class _TimedRequests:
    """Stands in for the `requests` module inside scaleway_core.api, whose API._request
    calls requests.request(...) with no timeout (a silent API would hang it forever):
    the same call with our timeout (connect, read)."""

    def __init__(self, timeout: tuple[float, float]) -> None:
        self.timeout = timeout

    def request(self, *args: Any, **kwargs: Any):
        import requests

        timeout = kwargs.pop("timeout", None) or self.timeout
        return requests.request(*args, timeout=timeout, **kwargs)

    def __getattr__(self, name: str) -> Any:
        import requests

        return getattr(requests, name)


@contextlib.contextmanager
def _sdk_timeout(timeout: tuple[float, float]):
    import scaleway_core.api as core

    if not isinstance(core.requests, _TimedRequests):
        core.requests = _TimedRequests(timeout)
    old, core.requests.timeout = core.requests.timeout, timeout
    try:
        yield
    finally:
        core.requests.timeout = old


class _Calls:
    """SDK calls, bounded in time and retried on 429/5xx a few times."""

    def __init__(self, sleep: Callable[[float], None], attempts: int = 5,
                 timeout: tuple[float, float] = (10.0, 60.0)) -> None:
        self.sleep = sleep
        self.attempts = attempts
        self.timeout = timeout

    def __call__(self, fn: Callable[..., Any], *args: Any, creating: bool = False,
                 **kwargs: Any) -> Any:
        import requests
        from scaleway_core.api import ScalewayException

        delay = 1.0
        for attempt in range(1, self.attempts + 1):
            try:
                with _sdk_timeout(self.timeout):
                    return fn(*args, **kwargs)
            except ScalewayException as exc:
                code = exc.status_code
                retry = code == 429 or (code in (502, 503, 504) and not creating)
                if not retry or attempt == self.attempts:
                    raise
                after = exc.response.headers.get("Retry-After", "")
                wait = float(after) if after.isdigit() else delay
            except (requests.ConnectionError, requests.Timeout):
                if creating or attempt == self.attempts:
                    raise
                wait = delay
            self.sleep(min(wait, 30.0))
            delay = min(delay * 2, 30.0)
        raise AssertionError("unreachable")


def _status(exc: BaseException) -> int | None:
    return getattr(exc, "status_code", None)


def _is_gone(exc: BaseException) -> bool:
    return _status(exc) == 404


def explain(exc: BaseException) -> str:
    """An SDK error as one line: the HTTP status and the API's message (never headers)."""
    response = getattr(exc, "response", None)
    if response is None:
        return str(exc)
    try:
        data = response.json()
    except ValueError:
        data = {}
    what = data.get("message") or response.text[:200]
    kind = data.get("type")
    return f"Scaleway API {response.status_code}" + (f" {kind}" if kind else "") + f": {what}"


def _api_error(exc: BaseException, doing: str) -> UserError:
    response = getattr(exc, "response", None)
    data: dict = {}
    if response is not None:
        with contextlib.suppress(ValueError):
            data = response.json() or {}
    if data.get("type") == "quotas_exceeded" or "quota" in str(data.get("message", "")).lower():
        return UserError(f"{doing}: quota exceeded at Scaleway ({explain(exc)})",
                         "delete unused resources or ask for a higher quota (console: "
                         "Organization > Quotas)")
    if _status(exc) in (401, 403):
        return UserError(f"{doing}: refused by Scaleway ({explain(exc)})",
                         f"check {CREDENTIALS} and the key's IAM permissions "
                         "(InstancesFullAccess, DomainsDNSFullAccess for --dns scaleway)")
    return UserError(f"{doing}: {explain(exc)}")


def _tagged(items, tag: str):
    return [i for i in items if tag in (getattr(i, "tags", None) or [])]


class ScalewayProvider:
    name = "scaleway"
    # 3 vCPU, 4 GB: the smallest type with the 4 GB a videobridge needs (checked against
    # the live list of server types at run time).
    default_size = "DEV1-M"
    login_note = "Scaleway's images log in as root; cloud-init creates your user instead"

    @classmethod
    def plan_resources(cls, req: CreateRequest) -> list[tuple[str, str]]:
        return [
            ("security_group", f"{req.name}: inbound drop, stateful, the rules below set at "
                               "once"),
            ("ip", "a routed public IPv4 (flexible IP)"),
            ("server", f"{req.name}: {req.size or cls.default_size}, Debian 13 (marketplace "
                       f"label {IMAGE_LABEL}), this group only, the cloud-init below; its "
                       "root volume deleted with it"),
        ]

    def __init__(self, client=None, *, sleep: Callable[[float], None] = time.sleep,
                 poll_interval: float = 3.0, boot_timeout: float = 300.0,
                 delete_timeout: float = 300.0) -> None:
        self.client = _client(client)
        self.sleep = sleep
        self.poll_interval = poll_interval
        self.boot_timeout = boot_timeout
        self.delete_timeout = delete_timeout
        self.call = _Calls(sleep)
        self._images: dict[tuple[str, str], str] = {}
        self._instance = None

    # ---- SDK objects ----------------------------------------------------------------

    @property
    def instance(self):
        if self._instance is None:
            problem = credentials_problem(self.client)
            if problem:
                raise problem
            from scaleway.instance.v1.custom_api import InstanceUtilsV1API

            self._instance = InstanceUtilsV1API(self.client)
        return self._instance

    def _marketplace(self):
        from scaleway.marketplace.v2 import MarketplaceV2API

        return MarketplaceV2API(self.client)

    def _block(self):
        from scaleway.block.v1alpha1 import BlockV1Alpha1API

        return BlockV1Alpha1API(self.client)

    # ---- check ----------------------------------------------------------------------

    def check(self, req: CreateRequest) -> list[UserError]:
        from scaleway_core.api import ScalewayException

        problems = common_checks(req)
        try:
            regions.region(self.name, req.region)
        except UserError as exc:
            return [*problems, exc]
        creds = credentials_problem(self.client)
        if creds:
            return [*problems, creds]
        zone, size = req.region, req.size or self.default_size
        try:
            types = self._server_types(zone)
        except ScalewayException as exc:
            return [*problems, _api_error(exc, f"listing the server types of {zone}")]
        if not types:
            return [*problems, UserError(f"zone {zone} offers no server type now",
                                         "choose another fr-par zone")]
        big = sorted((t.ram, n) for n, t in types.items() if t.ram >= MIN_MEMORY_GB * GIB
                     and not t.end_of_service)
        hint = ", ".join(n for _, n in big[:8])
        kind = types.get(size)
        if kind is None:
            problems.append(UserError(f"size {size!r} is not a server type of {zone}",
                                      f"choose one with >= {MIN_MEMORY_GB} GB: {hint}"))
        elif kind.ram < MIN_MEMORY_GB * GIB:
            problems.append(UserError(
                f"size {size!r} has {kind.ram / GIB:g} GB of memory: a Jitsi server needs at "
                f"least {MIN_MEMORY_GB} GB", f"choose one of: {hint}"))
        elif kind.end_of_service:
            problems.append(UserError(f"size {size!r} is at its end of service at Scaleway",
                                      f"choose one of: {hint}"))
        else:
            try:
                image = self._image(zone, size)
            except ScalewayException as exc:
                problems.append(_api_error(exc, "looking up the Debian 13 image"))
            else:
                if image is None:
                    problems.append(UserError(
                        f"no Debian 13 image (marketplace label {IMAGE_LABEL}) for {size} "
                        f"in {zone}", f"choose another size ({hint}) or zone"))
        try:
            taken = self._taken(zone, req.name)
        except ScalewayException as exc:
            problems.append(_api_error(exc, "looking for resources named " + req.name))
        else:
            if taken:
                problems.append(UserError(
                    f"the name {req.name!r} is taken at Scaleway ({', '.join(taken)})",
                    "--name another-name, or remove them first (jitsi-sovereign cloud "
                    "destroy --state ...)"))
        return problems

    def _server_types(self, zone: str) -> dict:
        types: dict = {}
        page = 1
        while True:
            got = self.call(self.instance.list_servers_types, zone=zone, per_page=100, page=page)
            types.update(got.servers or {})
            if not got.servers or len(types) >= int(got.total_count or 0) or page >= 20:
                return types
            page += 1

    def _image(self, zone: str, size: str) -> str | None:
        if (zone, size) not in self._images:
            got = self.call(self._marketplace().list_local_images, image_label=IMAGE_LABEL,
                            zone=zone, page_size=100)
            for local in got.local_images:
                if size in (local.compatible_commercial_types or []):
                    self._images[(zone, size)] = local.id
                    break
        return self._images.get((zone, size))

    def _taken(self, zone: str, name: str) -> list[str]:
        """What already bears the name or its tag in the zone (servers, groups, IPs)."""
        api = self.instance
        found = {("server", s.id) for s in self.call(
            api.list_servers, zone=zone, name=name, per_page=100).servers if s.name == name}
        found |= {("security_group", g.id) for g in self.call(
            api.list_security_groups, zone=zone, name=name, per_page=100).security_groups
            if g.name == name}
        found |= {(r.kind, r.id) for r in self._residue_in(zone, name)}
        return [f"{kind} {rid}" for kind, rid in sorted(found)]

    # ---- create ---------------------------------------------------------------------

    def create(self, req: CreateRequest, plan, record: Callable[[Resource], None]) -> Server:
        from scaleway.instance.v1 import SetSecurityGroupRulesRequestRule
        from scaleway_core.api import ScalewayException

        api, zone = self.instance, req.region
        size = plan.size
        tags = [f"{TAG}={req.name}"]
        project = self.client.default_project_id
        try:
            sg = self.call(
                api.create_security_group, creating=True, zone=zone, name=req.name,
                description=f"jitsi-sovereign {req.domain}: the firewall role's openings",
                stateful=True, inbound_default_policy="drop", outbound_default_policy="accept",
                project=project, tags=tags).security_group
            record(Resource("security_group", sg.id, zone, {"name": req.name}))
            rules = [SetSecurityGroupRulesRequestRule(
                action="accept", protocol=r.proto.upper(), direction="inbound",
                ip_range=source, position=position, dest_port_from=r.port_from,
                dest_port_to=r.port_to if r.port_to != r.port_from else None, editable=True)
                for position, (r, source) in enumerate(
                    ((r, s) for r in plan.rules for s in r.sources), start=1)]
            self.call(api.set_security_group_rules, security_group_id=sg.id, zone=zone,
                      rules=rules)
            ip = self.call(api.create_ip, creating=True, zone=zone, project=project,
                           tags=tags, type_="routed_ipv4").ip
            record(Resource("ip", ip.id, zone, {"address": ip.address}))
            image = self._image(zone, size)
            if image is None:
                raise UserError(f"no Debian 13 image ({IMAGE_LABEL}) for {size} in {zone}")
            server = self.call(
                api.create_server, creating=True, zone=zone, commercial_type=size,
                name=req.name, image=image, routed_ip_enabled=True, dynamic_ip_required=False,
                public_ips=[ip.id], security_group=sg.id, tags=tags, project=project,
                protected=False).server
            volumes = [{"id": v.id, "volume_type": str(v.volume_type)}
                       for v in (server.volumes or {}).values()]
            record(Resource("server", server.id, zone, {"name": req.name,
                                                        "volumes": volumes}))
            self.call(api.set_server_user_data, server_id=server.id, zone=zone,
                      key=USER_DATA_KEY, content=plan.cloud_init.encode())
            self.call(api.server_action, server_id=server.id, zone=zone, action="poweron")
            server = self._wait_running(server.id, zone)
        except ScalewayException as exc:
            raise _api_error(exc, "creating the server") from None
        v6 = [p.address for p in server.public_ips or [] if str(p.family) == "inet6"]
        return Server(server.id, ip.address, v6[0] if v6 else None, server.private_ip)

    def _wait_running(self, server_id: str, zone: str):
        deadline = time.monotonic() + self.boot_timeout
        while True:
            server = self.call(self.instance.get_server, server_id=server_id, zone=zone).server
            if str(server.state) == "running":
                return server
            if time.monotonic() >= deadline:
                break
            self.sleep(self.poll_interval)
        raise UserError(f"server {server_id} is not running after {self.boot_timeout:.0f} s "
                        f"(state {server.state})", "look at its console at Scaleway")

    # ---- delete ---------------------------------------------------------------------

    def delete(self, res: Resource) -> None:
        from scaleway_core.api import ScalewayException

        api = self.instance
        try:
            if res.kind == "server":
                self._delete_server(res)
            elif res.kind == "ip":
                self._delete_in_use(api.delete_ip, ip=res.id, zone=res.region)
            elif res.kind == "security_group":
                self._delete_in_use(api.delete_security_group, security_group_id=res.id,
                                    zone=res.region)
            else:
                raise UserError(f"{res.kind} {res.id}: not a Scaleway instance resource")
        except ScalewayException as exc:
            raise _api_error(exc, f"deleting {res.kind} {res.id}") from None

    def _gone_ok(self, fn, **kwargs) -> bool:
        """True when deleted now, False when already gone."""
        try:
            self.call(fn, **kwargs)
        except Exception as exc:
            if _is_gone(exc):
                return False
            raise
        return True

    def _delete_in_use(self, fn, **kwargs) -> None:
        """A group or IP still held by a server being deleted answers 409/412: retried
        until the server is gone (bounded)."""
        deadline = time.monotonic() + self.delete_timeout
        while True:
            try:
                self._gone_ok(fn, **kwargs)
                return
            except Exception as exc:
                if _status(exc) not in (409, 412) or time.monotonic() >= deadline:
                    raise
            self.sleep(self.poll_interval)

    def _delete_server(self, res: Resource) -> None:
        api, zone = self.instance, res.region
        try:
            server = self.call(api.get_server, server_id=res.id, zone=zone).server
        except Exception as exc:
            if not _is_gone(exc):
                raise
            server = None
        if server is not None:
            if str(server.state) in ("stopped", "stopped in place"):
                self._gone_ok(api.delete_server, server_id=res.id, zone=zone)
            else:
                # terminate: stops and deletes the server with its local volumes.
                try:
                    self.call(api.server_action, server_id=res.id, zone=zone,
                              action="terminate")
                except Exception as exc:
                    if not _is_gone(exc):
                        raise
            self._wait_gone(res.id, zone)
        for volume in res.info.get("volumes", []):
            if volume.get("volume_type") == "sbs_volume":
                self._delete_in_use(self._block().delete_volume, volume_id=volume["id"],
                                    zone=zone)
            else:
                self._delete_in_use(api.delete_volume, volume_id=volume["id"], zone=zone)

    def _wait_gone(self, server_id: str, zone: str) -> None:
        deadline = time.monotonic() + self.delete_timeout
        while True:
            try:
                self.call(self.instance.get_server, server_id=server_id, zone=zone)
            except Exception as exc:
                if _is_gone(exc):
                    return
                raise
            if time.monotonic() >= deadline:
                raise UserError(f"server {server_id} still exists after "
                                f"{self.delete_timeout:.0f} s", "run destroy again later")
            self.sleep(self.poll_interval)

    # ---- status, residue ------------------------------------------------------------

    def status(self, state) -> dict[str, Any]:
        from scaleway_core.api import ScalewayException

        api, zone = self.instance, state.region
        out: dict[str, Any] = {"server": None, "rules": [], "groups": [], "findings": []}
        ids = {r.kind: r.id for r in state.resources}
        try:
            if "server" in ids:
                try:
                    server = self.call(api.get_server, server_id=ids["server"],
                                       zone=zone).server
                except ScalewayException as exc:
                    if not _is_gone(exc):
                        raise
                    server = None
                if server is not None:
                    family = {str(p.family): p.address for p in server.public_ips or []}
                    out["server"] = {"id": server.id, "state": str(server.state),
                                     "type": server.commercial_type,
                                     "public_ipv4": family.get("inet"),
                                     "public_ipv6": family.get("inet6"),
                                     "private_ipv4": server.private_ip}
                    if server.security_group is not None:
                        out["groups"] = [server.security_group.id]
            if "security_group" in ids:
                out["rules"], out["findings"] = self._live_rules(ids["security_group"], zone)
        except ScalewayException as exc:
            raise _api_error(exc, "reading the server") from None
        return out

    def _live_rules(self, group_id: str, zone: str) -> tuple[list[Rule], list[str]]:
        from scaleway_core.api import ScalewayException

        api = self.instance
        findings: list[str] = []
        try:
            group = self.call(api.get_security_group, security_group_id=group_id,
                              zone=zone).security_group
        except ScalewayException as exc:
            if _is_gone(exc):
                return [], [f"the security group {group_id} is gone"]
            raise
        if str(group.inbound_default_policy) != "drop":
            findings.append(f"the security group's inbound policy is "
                            f"{group.inbound_default_policy}, not drop")
        if not group.stateful:
            findings.append("the security group is not stateful: answers are dropped")
        rules = []
        for rule in self.call(api.list_security_group_rules_all, security_group_id=group_id,
                              zone=zone):
            if str(rule.direction) != "inbound" or str(rule.action) != "accept":
                continue
            proto = str(rule.protocol).lower()
            if proto not in ("tcp", "udp"):
                findings.append(f"extra rule: {proto} from {rule.ip_range}")
                continue
            low = rule.dest_port_from or 1
            high = rule.dest_port_to or (rule.dest_port_from or 65535)
            rules.append(Rule(proto, low, high, (rule.ip_range,)))
        return rules, findings

    def residue(self, name: str) -> list[Resource]:
        out: list[Resource] = []
        for zone in regions.REGIONS[self.name]:
            out += self._residue_in(zone, name)
        return out

    def _residue_in(self, zone: str, name: str) -> list[Resource]:
        api, tag = self.instance, f"{TAG}={name}"
        found = [Resource("server", s.id, zone, {"name": s.name}) for s in _tagged(
            self.call(api.list_servers, zone=zone, tags=[tag], per_page=100).servers, tag)]
        found += [Resource("ip", i.id, zone, {"address": i.address}) for i in _tagged(
            self.call(api.list_ips, zone=zone, tags=[tag], per_page=100).ips, tag)]
        found += [Resource("security_group", g.id, zone, {"name": g.name}) for g in _tagged(
            self.call(api.list_security_groups, zone=zone, tags=[tag],
                      per_page=100).security_groups, tag)]
        return found


class ScalewayDns:
    """The A record of the meeting's name in a zone of Scaleway Domains & DNS."""

    name = "scaleway"
    ttl = 300

    def __init__(self, client=None, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = _client(client)
        self.call = _Calls(sleep)
        self._api = None
        self._zones: dict[str, tuple[str, str]] = {}

    @property
    def api(self):
        if self._api is None:
            problem = credentials_problem(self.client)
            if problem:
                raise problem
            from scaleway.domain.v2beta1 import DomainV2Beta1API

            self._api = DomainV2Beta1API(self.client)
        return self._api

    def _zone_of(self, domain: str) -> tuple[str, str] | None:
        """(zone, record name relative to it) of the closest zone holding `domain`."""
        domain = domain.rstrip(".").lower()
        if domain not in self._zones:
            labels = domain.split(".")
            for i in range(len(labels) - 1):
                candidate = ".".join(labels[i:])
                zones = self.call(self.api.list_dns_zones, domain="", dns_zone=candidate,
                                  page_size=100).dns_zones
                names = {".".join(p for p in (z.subdomain, z.domain) if p) for z in zones}
                if candidate in names:
                    self._zones[domain] = (candidate, ".".join(labels[:i]))
                    break
        return self._zones.get(domain)

    def check(self, req: CreateRequest) -> list[UserError]:
        from scaleway_core.api import ScalewayException

        creds = credentials_problem(self.client)
        if creds:
            return [creds]
        try:
            found = self._zone_of(req.domain)
            if found is None:
                return [UserError(
                    f"no DNS zone of this Scaleway project holds {req.domain}",
                    "add the domain's zone in Domains & DNS, or use --dns none and create "
                    "the A record yourself")]
            zone, name = found
            records = self.call(self.api.list_dns_zone_records, dns_zone=zone, name=name,
                                type_="A", page_size=100).records
        except ScalewayException as exc:
            return [_api_error(exc, f"looking up the DNS zone of {req.domain}")]
        mine = [r for r in records if r.name == name]
        if mine:
            return [UserError(f"{req.domain} already has an A record "
                              f"({', '.join(r.data for r in mine)})",
                              "delete it first (it would be served with the new one), or "
                              "use --dns none")]
        return []

    def create_record(self, req: CreateRequest, server: Server) -> Resource:
        from scaleway.domain.v2beta1 import Record, RecordChange, RecordChangeAdd
        from scaleway_core.api import ScalewayException

        found = self._zone_of(req.domain)
        if found is None:
            raise UserError(f"no DNS zone holds {req.domain}")
        zone, name = found
        ipaddress.IPv4Address(server.public_ipv4)
        record = Record(data=server.public_ipv4, name=name, priority=0, ttl=self.ttl,
                        type_="A", id=None, comment=f"jitsi-sovereign={req.name}")
        try:
            got = self.call(self.api.update_dns_zone_records, creating=True, dns_zone=zone,
                            changes=[RecordChange(add=RecordChangeAdd(records=[record]))],
                            disallow_new_zone_creation=True, return_all_records=False)
        except ScalewayException as exc:
            raise _api_error(exc, f"creating the A record of {req.domain}") from None
        (made,) = [r for r in got.records if r.name == name and str(r.type_) == "A"
                   and r.data == server.public_ipv4]
        return Resource("dns_record", made.id, "global",
                        {"zone": zone, "name": name, "type": "A", "data": made.data,
                         "fqdn": req.domain})

    def _present(self, res: Resource) -> list:
        try:
            return self.call(self.api.list_dns_zone_records, dns_zone=res.info["zone"],
                             name=res.info["name"], id=res.id, page_size=100).records
        except Exception as exc:
            if _is_gone(exc):
                return []
            raise

    def delete(self, res: Resource) -> None:
        from scaleway.domain.v2beta1 import RecordChange, RecordChangeDelete
        from scaleway_core.api import ScalewayException

        try:
            if not self._present(res):
                return
            self.call(self.api.update_dns_zone_records, dns_zone=res.info["zone"],
                      changes=[RecordChange(delete=RecordChangeDelete(id=res.id))],
                      disallow_new_zone_creation=True, return_all_records=False)
        except ScalewayException as exc:
            if not _is_gone(exc):
                raise _api_error(exc, f"deleting the DNS record {res.id}") from None

    def status(self, res: Resource) -> dict[str, Any]:
        records = self._present(res)
        return {"name": res.info.get("fqdn"), "type": "A",
                "data": [r.data for r in records], "present": bool(records)}
