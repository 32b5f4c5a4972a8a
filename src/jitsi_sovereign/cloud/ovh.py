"""OVHcloud Public Cloud (and any OpenStack cloud) through openstacksdk; the DNS record
in an OVH zone through the `ovh` package (the OVH API).

What create() makes, in order, each recorded as soon as it exists:
1. a security group of our own, named after the VM, with the inbound rules of the plan
   (one Neutron rule per source network: a rule holds one remote prefix). Neutron gives
   a new group two egress rules (any, IPv4 and IPv6): they stay, outbound traffic is the
   VM firewall's business. The project's "default" group lets everything in on OVHcloud,
   so it is never attached: the port below carries our group and nothing else.
2. a port on the public network (Ext-Net) with only our group, its public IPv4 and IPv6;
3. the server on that port: the Debian 13 image found by name at run time, the flavor
   checked against the region's list (>= 4 GB), the login user and key given by
   cloud-init user_data (no Nova keypair: OVHcloud's panel refuses ED25519 keys and a
   keypair would outlive the VM), metadata jitsi-sovereign=<name>.

Every object carries the mark jitsi-sovereign=<name> (the server's metadata, the group's
and port's description): residue() finds what a crash left behind.

Credentials: openstacksdk's own lookup, i.e. the OS_* environment (OS_AUTH_URL with
OS_USERNAME/OS_PASSWORD or OS_APPLICATION_CREDENTIAL_ID/_SECRET, OS_PROJECT_ID, ...) or
clouds.yaml through OS_CLOUD. The region comes from --region, never from OS_REGION_NAME.
Nothing here prints, logs or stores a credential.
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import os
import re
import time
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
IMAGE_NAME = "Debian 13"
PUBLIC_NETWORK = "Ext-Net"
CREDENTIALS_FIX = (
    "load your project's OpenStack credentials: `source openrc.sh` from the OVHcloud "
    "control panel (Public Cloud > Users & Roles > OpenStack RC file: OS_AUTH_URL, "
    "OS_USERNAME, OS_PASSWORD, OS_PROJECT_ID), or OS_APPLICATION_CREDENTIAL_ID and "
    "OS_APPLICATION_CREDENTIAL_SECRET, or OS_CLOUD=<name> with a clouds.yaml")


def _mark(name: str) -> str:
    return f"{MARK}={name}"


def credentials_problem(env: dict[str, str] | None = None) -> str | None:
    """Why the environment cannot authenticate to OpenStack, or None. Names variables only,
    never their values."""
    env = os.environ if env is None else env
    if env.get("OS_CLOUD"):
        return None     # clouds.yaml: openstacksdk reads it, a wrong entry is a UserError later
    if not env.get("OS_AUTH_URL"):
        return "OS_AUTH_URL is not set (nor OS_CLOUD)"
    if env.get("OS_APPLICATION_CREDENTIAL_ID") or env.get("OS_APPLICATION_CREDENTIAL_NAME"):
        if not env.get("OS_APPLICATION_CREDENTIAL_SECRET"):
            return "OS_APPLICATION_CREDENTIAL_SECRET is not set"
        return None
    missing = [v for v in ("OS_USERNAME", "OS_PASSWORD") if not env.get(v)]
    if not (env.get("OS_PROJECT_ID") or env.get("OS_PROJECT_NAME")
            or env.get("OS_TENANT_ID") or env.get("OS_TENANT_NAME")):
        missing.append("OS_PROJECT_ID")
    if missing:
        return f"{', '.join(missing)} not set"
    return None


def neutron_rules(rules: list[Rule]) -> list[dict[str, Any]]:
    """The Neutron ingress rules for our Rules: one per (rule, source network)."""
    out = []
    for rule in merge_rules(rules):
        for source in rule.sources:
            net = ipaddress.ip_network(source)
            out.append({"direction": "ingress",
                        "ethertype": "IPv6" if net.version == 6 else "IPv4",
                        "protocol": rule.proto, "port_range_min": rule.port_from,
                        "port_range_max": rule.port_to, "remote_ip_prefix": str(net)})
    return out


def rules_from_neutron(live: list[dict[str, Any]]) -> tuple[list[Rule], list[str]]:
    """Live ingress rules as Rules (merged), and the ones a Rule cannot hold, described.

    A rule for any protocol (OVHcloud's "default" group has those) admits every TCP and
    UDP port: it comes back as tcp 1-65535 and udp 1-65535, so the comparison with the
    plan names it. ICMP, other protocols and rules admitting a remote group are listed
    apart: each is a finding by itself."""
    rules, other = [], []
    for r in live:
        if r.get("direction") != "ingress":
            continue
        proto = r.get("protocol")
        prefix = r.get("remote_ip_prefix") or \
            ("::/0" if r.get("ethertype") == "IPv6" else "0.0.0.0/0")
        low, high = r.get("port_range_min"), r.get("port_range_max")
        if r.get("remote_group_id"):
            other.append(f"ingress {proto or 'any protocol'} from the members of group "
                         f"{r['remote_group_id']} ({r.get('ethertype')})")
        elif proto in ("tcp", "udp", "6", "17", None, "any"):
            names = {"6": ["tcp"], "17": ["udp"], None: ["tcp", "udp"],
                     "any": ["tcp", "udp"]}.get(proto, [proto])
            rules += [Rule(n, low or 1, high or 65535, (prefix,)) for n in names]
            if proto in (None, "any"):
                other.append(f"ingress any protocol from {prefix} (ICMP and every port "
                             "included)")
        else:
            other.append(f"ingress {proto} from {prefix} ({r.get('ethertype')})")
    return merge_rules(rules), other


def _cloud_region(region: str, **options: Any):
    """openstacksdk's configuration (OS_CLOUD's clouds.yaml entry, else the OS_* variables)
    for `region`. OVHcloud's openrc.sh sets OS_REGION_NAME and its clouds.yaml a
    region_name, and openstacksdk then accepts that region only: --region replaces it."""
    import openstack.config
    config = openstack.config.OpenStackConfig(load_yaml_config=True, load_envvars=True)
    name = os.environ.get("OS_CLOUD") or config.envvar_key
    entry = config.cloud_config.get("clouds", {}).get(name)
    if entry is None:
        raise openstack.exceptions.ConfigException(f"Cloud {name} was not found.")
    entry.pop("regions", None)
    entry["region_name"] = region
    return config.get_one(cloud=name, region_name=region, **options)


def _get(getter: Callable[[str], Any], rid: str) -> Any:
    """The resource by id, or None when it is gone (404)."""
    import openstack.exceptions as os_exc
    try:
        return getter(rid)
    except os_exc.NotFoundException:
        return None


def _errors() -> tuple[type[Exception], ...]:
    """What the SDK raises for an API answer and for a transport failure (keystoneauth's:
    connection refused or dropped, timeout)."""
    import keystoneauth1.exceptions as ks_exc
    import openstack.exceptions as os_exc
    return (os_exc.SDKException, ks_exc.ClientException)


def _sdk_error(exc: Exception, doing: str) -> UserError:
    """An SDK/HTTP failure as a UserError: the status and the service's own message
    (neither holds a credential), never the request body."""
    status = getattr(exc, "status_code", None) or getattr(exc, "http_status", None)
    message = getattr(exc, "details", None) or str(exc)
    message = re.sub(r"\s+", " ", str(message))[:300]
    text = f"OpenStack refused {doing}: {status or ''} {message}".replace("  ", " ")
    if status == 403 and "quota" in message.lower():
        return UserError(text, "raise the project's quota (OVHcloud control panel > Public "
                         "Cloud > Quota and Regions) or choose a smaller --size")
    if status == 401:
        return UserError(text, CREDENTIALS_FIX)
    return UserError(text, "run the same command again later; `cloud status` shows what "
                     "exists, `cloud destroy` removes it")


class OvhProvider:
    """OVHcloud Public Cloud; with another OpenStack's credentials, that cloud."""

    name = "ovh"
    default_size = "b3-8"      # 2 vCPU, 8 GB (General Purpose); d2-4 (4 GB) is the floor
    login_note = ("OVHcloud's Debian images log in as 'debian'; cloud-init gives the login "
                  "user your key (no Nova keypair: the OVHcloud panel refuses ED25519)")

    def __init__(self, *, wait_timeout: float = 600.0, poll_interval: float = 5.0,
                 api_timeout: float = 60.0, in_use_timeout: float = 60.0,
                 retries: int = 3, retry_delay: float = 1.0, **_ignored: Any) -> None:
        try:
            import openstack  # noqa: F401  (the extra is present)
        except ImportError:
            raise missing_sdk("ovh", "openstacksdk") from None
        self.wait_timeout = wait_timeout
        self.poll_interval = poll_interval
        self.api_timeout = api_timeout
        self.in_use_timeout = in_use_timeout   # a group still held by a port being unbound
        # 429 (rate limit) and 503 answers are retried by keystoneauth, the delay doubling
        # from retry_delay: the request was not processed, so even a POST is safe again
        self.retries = retries
        self.retry_delay = retry_delay
        self._conns: dict[str, Any] = {}
        self._found: dict[str, dict[str, Any]] = {}   # region -> flavor/image/network ids

    @classmethod
    def plan_resources(cls, req: CreateRequest) -> list[tuple[str, str]]:
        return [
            ("security_group", f"security group {req.name}: the plan's inbound rules only "
                               "(OVHcloud's 'default' group is never attached)"),
            ("port", f"port on {PUBLIC_NETWORK} with only that group (public IPv4 + IPv6)"),
            ("server", f"server {req.name}: {IMAGE_NAME}, flavor {req.size or cls.default_size},"
                       f" cloud-init user {req.login_user}, metadata {_mark(req.name)}"),
        ]

    # -- connection --------------------------------------------------------------------------
    def _conn(self, region: str):
        if region in self._conns:
            return self._conns[region]
        why = credentials_problem()
        if why:
            raise UserError(f"no OpenStack credentials: {why}", CREDENTIALS_FIX)
        import keystoneauth1.exceptions as ks_exc
        import openstack
        import openstack.exceptions as os_exc
        try:
            conn = openstack.connection.Connection(
                config=_cloud_region(region, api_timeout=self.api_timeout,
                                     status_code_retries=self.retries,
                                     status_code_retry_delay=self.retry_delay))
            conn.authorize()
        except os_exc.ConfigException as exc:
            raise UserError(f"OpenStack configuration (OS_CLOUD / clouds.yaml, OS_*): {exc}",
                            CREDENTIALS_FIX) from None
        except (ks_exc.Unauthorized, os_exc.SDKException) as exc:
            if isinstance(exc, ks_exc.Unauthorized) or "HTTP 401" in str(exc):
                raise UserError("OpenStack refused the credentials (401)", CREDENTIALS_FIX) \
                    from None
            raise UserError(f"OpenStack authentication failed: {str(exc)[:200]}",
                            "check OS_AUTH_URL and the network") from None
        except ks_exc.ClientException as exc:
            raise UserError(f"OpenStack authentication failed: {type(exc).__name__}: "
                            f"{str(exc)[:200]}", "check OS_AUTH_URL and the network") \
                from None
        self._conns[region] = conn
        return conn

    def _catalog_regions(self, conn) -> set[str]:
        catalog = conn.session.auth.get_access(conn.session).service_catalog
        out = set()
        for endpoints in catalog.get_endpoints(service_type="compute").values():
            for ep in endpoints:
                out.add(ep.get("region_id") or ep.get("region"))
        return out

    def _lookups(self, conn, region: str, req: CreateRequest) -> tuple[dict, list[UserError]]:
        """Flavor, image and public network ids (read-only calls), and what is wrong."""
        problems: list[UserError] = []
        found: dict[str, Any] = {}
        size = req.size or self.default_size
        flavors = list(conn.compute.flavors(details=True))
        big = sorted((f for f in flavors if (f.ram or 0) >= MIN_MEMORY_GB * 1024),
                     key=lambda f: (f.ram, f.vcpus or 0, f.name))
        match = [f for f in flavors if f.name == size or f.id == size]
        if not match:
            problems.append(UserError(
                f"--size {size!r} is not a flavor of {region}",
                f"choose one with >= {MIN_MEMORY_GB} GB, e.g. "
                f"{', '.join(f.name for f in big[:6]) or '(none in this region)'}"))
        elif (match[0].ram or 0) < MIN_MEMORY_GB * 1024:
            problems.append(UserError(
                f"--size {size!r} has {match[0].ram} MB of memory: a meeting server needs "
                f"at least {MIN_MEMORY_GB} GB",
                f"choose one of: {', '.join(f.name for f in big[:6])}"))
        else:
            found["flavor"] = match[0].id
        images = [i for i in conn.image.images(name=IMAGE_NAME)
                  if i.name == IMAGE_NAME and (i.status or "active") == "active"]
        if not images:
            problems.append(UserError(f"no image named {IMAGE_NAME!r} in {region}",
                                      "choose a region that offers Debian 13"))
        else:
            found["image"] = max(images, key=lambda i: i.created_at or "").id
        # by name (what OVHcloud documents); an external one first if several bear it
        nets = sorted(conn.network.networks(name=PUBLIC_NETWORK),
                      key=lambda n: not n.is_router_external)
        if not nets:
            problems.append(UserError(f"no public network {PUBLIC_NETWORK!r} in {region}",
                                      "this OpenStack cloud is not laid out like OVHcloud's"))
        else:
            found["network"] = nets[0].id
        return found, problems

    # -- Provider ----------------------------------------------------------------------------
    def check(self, req: CreateRequest) -> list[UserError]:
        problems = list(common_checks(req))
        try:
            regions.region(self.name, req.region)
        except UserError as exc:
            return [*problems, exc]
        why = credentials_problem()
        if why:
            return [*problems, UserError(f"no OpenStack credentials: {why}", CREDENTIALS_FIX)]
        try:
            conn = self._conn(req.region)
        except UserError as exc:
            return [*problems, exc]
        try:
            available = self._catalog_regions(conn)
            if req.region not in available:
                french = sorted(set(regions.REGIONS[self.name]) & available)
                return [*problems, UserError(
                    f"region {req.region!r} is not in this project's catalog",
                    f"enable it (control panel > Public Cloud > Quota and Regions) or "
                    f"choose one of: {', '.join(french) or '(none in France)'}")]
            found, more = self._lookups(conn, req.region, req)
            problems += more
            self._found[req.region] = found
            taken = self._taken(conn, req.name)
            if taken:
                problems.append(UserError(
                    f"the name {req.name!r} is already used in {req.region}: {taken}",
                    "give another --name, or `cloud destroy` the old one"))
        except _errors() as exc:
            problems.append(_sdk_error(exc, "a read-only check"))
        return problems

    def _taken(self, conn, name: str) -> str:
        used = []
        for srv in conn.compute.servers(name=f"^{re.escape(name)}$"):
            if srv.name == name:
                used.append(f"server {srv.id}")
        for sg in conn.network.security_groups(name=name):
            used.append(f"security group {sg.id}")
        for srv in conn.compute.servers():
            if (srv.metadata or {}).get(MARK) == name and f"server {srv.id}" not in used:
                used.append(f"server {srv.id} (metadata {_mark(name)})")
        return ", ".join(used)

    def create(self, req: CreateRequest, plan: Plan,
               record: Callable[[Resource], None]) -> Server:
        conn = self._conn(req.region)
        errors = _errors()
        found = self._found.get(req.region)
        if not found or set(found) != {"flavor", "image", "network"}:
            found, problems = self._lookups(conn, req.region, req)
            if problems:
                raise problems[0]
        region, mark = req.region, _mark(req.name)
        step = "creating the security group"
        try:
            sg = conn.network.create_security_group(
                name=req.name, description=f"{mark}: the meeting server's openings")
            record(Resource("security_group", sg.id, region, {"name": req.name}))
            step = "adding the security group's rules"
            for body in neutron_rules(plan.rules):
                conn.network.create_security_group_rule(security_group_id=sg.id, **body)
            step = f"creating the port on {PUBLIC_NETWORK}"
            port = conn.network.create_port(network_id=found["network"], name=req.name,
                                            description=mark, security_group_ids=[sg.id])
            record(Resource("port", port.id, region, {"name": req.name}))
            if list(port.security_group_ids or []) != [sg.id]:
                raise UserError(f"the port got groups {port.security_group_ids}, not only "
                                f"{sg.id}: refusing to start a server behind them",
                                "report this: the cloud attached a group by itself")
            step = "creating the server"
            try:
                server = conn.compute.create_server(
                    name=req.name, flavor_id=found["flavor"], image_id=found["image"],
                    networks=[{"port": port.id}], metadata={MARK: req.name},
                    user_data=base64.b64encode(plan.cloud_init.encode()).decode())
            except Exception:
                # The answer may be lost after Nova made the server: find it by name and mark.
                for res in self._servers_marked(conn, region, req.name):
                    record(res)
                raise
            record(Resource("server", server.id, region, {"name": req.name}))
            step = "waiting for the server to be ACTIVE"
            server = conn.compute.wait_for_server(server, status="ACTIVE", failures=["ERROR"],
                                                  interval=self.poll_interval,
                                                  wait=self.wait_timeout)
            port = conn.network.get_port(port.id)
        except errors as exc:
            raise _sdk_error(exc, step) from None
        v4 = [ip["ip_address"] for ip in port.fixed_ips or [] if ":" not in ip["ip_address"]]
        v6 = [ip["ip_address"] for ip in port.fixed_ips or [] if ":" in ip["ip_address"]]
        if not v4:
            raise UserError(f"the port {port.id} got no public IPv4 address",
                            f"check the {PUBLIC_NETWORK} network of {region}")
        return Server(server.id, v4[0], v6[0] if v6 else None, None)

    def _servers_marked(self, conn, region: str, name: str) -> list[Resource]:
        try:
            return [Resource("server", s.id, region, {"name": s.name})
                    for s in conn.compute.servers()
                    if (s.metadata or {}).get(MARK) == name]
        except Exception:
            return []

    def delete(self, res: Resource) -> None:
        import openstack.exceptions as os_exc
        conn = self._conn(res.region)
        try:
            if res.kind == "server":
                server = _get(conn.compute.get_server, res.id)
                if server is None:
                    return
                conn.compute.delete_server(res.id, ignore_missing=True)
                conn.compute.wait_for_delete(server, interval=self.poll_interval,
                                             wait=self.wait_timeout)
            elif res.kind == "port":
                conn.network.delete_port(res.id, ignore_missing=True)
            elif res.kind == "security_group":
                deadline = time.monotonic() + self.in_use_timeout
                while True:     # a port just unbound may hold the group for a moment
                    try:
                        conn.network.delete_security_group(res.id, ignore_missing=True)
                        return
                    except os_exc.ConflictException:
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(self.poll_interval)
            else:
                raise UserError(f"the OVHcloud provider does not know resource kind "
                                f"{res.kind!r}", "edit the state file or report this")
        except _errors() as exc:
            raise _sdk_error(exc, f"deleting {res.kind} {res.id}") from None

    def status(self, state: State) -> dict[str, Any]:
        conn = self._conn(state.region)
        ids = {r.kind: r.id for r in state.resources}
        out: dict[str, Any] = {"server": None, "rules": [], "groups": [],
                               "other_rules": [], "findings": []}
        try:
            if "server" in ids:
                srv = _get(conn.compute.get_server, ids["server"])
                if srv is not None:
                    addrs = [a["addr"] for nets in (srv.addresses or {}).values()
                             for a in nets]
                    out["server"] = {
                        "id": srv.id, "name": srv.name, "state": srv.status,
                        "public_ipv4": next((a for a in addrs if ":" not in a), None),
                        "public_ipv6": next((a for a in addrs if ":" in a), None),
                        "flavor": (srv.flavor or {}).get("original_name")
                        or (srv.flavor or {}).get("id")}
                    ports = list(conn.network.ports(device_id=srv.id))
                    out["groups"] = sorted({g for p in ports for g in p.security_group_ids})
            elif "port" in ids:
                port = _get(conn.network.get_port, ids["port"])
                out["groups"] = sorted(port.security_group_ids) if port else []
            if "security_group" in ids:
                live = [r.to_dict(computed=False, original_names=True) for r in
                        conn.network.security_group_rules(security_group_id=ids["security_group"])]
                out["rules"], out["other_rules"] = rules_from_neutron(live)
                if out["server"] is not None and ids["security_group"] not in out["groups"]:
                    # none of its openings is in effect: every planned rule is missing
                    out["rules"] = []
                    out["findings"].append(f"our security group {ids['security_group']} is "
                                           "not attached to the server")
            # what a Rule cannot hold (ICMP, a remote group...): findings of their own; extra
            # groups and tcp/udp differences are the engine's comparison
            out["findings"] += [f"rule the plan does not have: {o}" for o in out["other_rules"]
                                if not o.startswith("ingress any protocol")]
        except _errors() as exc:
            raise _sdk_error(exc, "a status query") from None
        return out

    def residue(self, name: str) -> list[Resource]:
        """What still carries jitsi-sovereign=<name>, in every allowed region of the
        catalog, in creation order (groups, ports, servers)."""
        mark, out = _mark(name), []
        allowed = list(regions.REGIONS[self.name])
        try:
            conn0 = next(iter(self._conns.values()), None) or self._conn(allowed[0])
            available = self._catalog_regions(conn0)
        except _errors() as exc:
            raise _sdk_error(exc, "reading the catalog") from None
        for region in (r for r in allowed if r in available):
            try:
                conn = self._conn(region)
                out += [Resource("security_group", sg.id, region, {"name": sg.name})
                        for sg in conn.network.security_groups()
                        if (sg.description or "").split(":")[0] == mark]
                out += [Resource("port", p.id, region, {"name": p.name})
                        for p in conn.network.ports() if (p.description or "") == mark]
                out += [Resource("server", s.id, region, {"name": s.name})
                        for s in conn.compute.servers()
                        if (s.metadata or {}).get(MARK) == name]
            except _errors() as exc:
                raise _sdk_error(exc, f"the residue check in {region}") from None
        return out




# ---- DNS: the A/AAAA record in a zone the OVH account holds (the `ovh` package) ----------

OVH_API_FIX = (
    "create an OVH API token with GET/POST/DELETE rights on /domain/zone/* "
    "(https://eu.api.ovh.com/createToken/) and export OVH_ENDPOINT=ovh-eu, "
    "OVH_APPLICATION_KEY, OVH_APPLICATION_SECRET, OVH_CONSUMER_KEY (or write them in "
    "~/.ovh.conf)")
DNS_TTL = 60      # short: a VM made again gets another address


def zone_of(domain: str, zones: list[str]) -> str | None:
    """The zone holding `domain` among `zones`: the longest one it ends with."""
    domain = domain.rstrip(".").lower()
    held = [z for z in zones if domain == z.lower() or domain.endswith("." + z.lower())]
    return max(held, key=len) if held else None


class OvhDns:
    """The meeting name's A (and AAAA) record in an OVH DNS zone, through the OVH API
    (python-ovh: it signs each request with the application secret and consumer key)."""

    name = "ovh"

    def __init__(self, *, timeout: tuple[float, float] = (10.0, 30.0),
                 **_ignored: Any) -> None:
        try:
            import ovh  # noqa: F401  (the extra is present)
        except ImportError:
            raise missing_sdk("ovh", "ovh") from None
        self.timeout = timeout
        self._api = None
        self._zones: dict[str, str] = {}

    def _client(self):
        if self._api is None:
            import ovh
            import ovh.exceptions as ovh_exc
            try:
                self._api = ovh.Client(timeout=self.timeout)
            except (ovh_exc.InvalidRegion, ovh_exc.InvalidConfiguration) as exc:
                # the messages name the missing settings or the endpoint, never a secret
                raise UserError(f"no usable OVH API credentials: {str(exc)[:200]}",
                                OVH_API_FIX) from None
        return self._api

    def _call(self, method: str, path: str, doing: str, **kwargs: Any) -> Any:
        import ovh.exceptions as ovh_exc
        api = self._client()
        try:
            return getattr(api, method)(path, **kwargs)
        except ovh_exc.ResourceNotFoundError:
            raise
        except (ovh_exc.InvalidKey, ovh_exc.InvalidCredential, ovh_exc.NotCredential) as exc:
            raise UserError(f"the OVH API refused the credentials {doing}: "
                            f"{type(exc).__name__}", OVH_API_FIX) from None
        except ovh_exc.NotGrantedCall:
            raise UserError(f"the OVH API token may not call {method.upper()} {path}",
                            OVH_API_FIX) from None
        except ovh_exc.APIError as exc:
            if "signature" in str(exc).lower():     # a wrong application secret
                raise UserError(f"the OVH API refused the request signature {doing}",
                                OVH_API_FIX) from None
            raise UserError(f"the OVH API failed {doing}: {type(exc).__name__}: "
                            f"{str(exc)[:200]}", "run the same command again later") from None

    def _zone(self, domain: str) -> tuple[str, str]:
        if domain not in self._zones:
            zones = self._call("get", "/domain/zone", "listing the DNS zones")
            zone = zone_of(domain, zones)
            if zone is None:
                raise UserError(
                    f"the OVH account holds no DNS zone for {domain} (zones: "
                    f"{', '.join(sorted(zones)) or 'none'})",
                    "use the account that holds the domain's zone, or --dns none and "
                    "create the A/AAAA record yourself")
            self._zones[domain] = zone
        zone = self._zones[domain]
        sub = domain.rstrip(".")[: -len(zone)].rstrip(".") if domain != zone else ""
        return zone, sub

    def check(self, req: CreateRequest) -> list[UserError]:
        try:
            zone, sub = self._zone(req.domain)
            taken = []
            for kind in ("A", "AAAA", "CNAME"):
                for rid in self._call("get", f"/domain/zone/{zone}/record", "reading records",
                                      fieldType=kind, subDomain=sub):
                    rec = self._call("get", f"/domain/zone/{zone}/record/{rid}",
                                     "reading a record")
                    taken.append(f"{kind} {rec.get('target')}")
        except UserError as exc:
            return [exc]
        if taken:
            return [UserError(f"{req.domain} already has DNS records in the OVH zone {zone}: "
                              f"{', '.join(taken)}",
                              "delete them in the OVH control panel (or point them yourself "
                              "and use --dns none)")]
        return []

    def create_record(self, req: CreateRequest, server: Server) -> Resource:
        import ovh.exceptions as ovh_exc
        zone, sub = self._zone(req.domain)
        made: list[dict[str, Any]] = []
        try:
            for kind, address in (("A", server.public_ipv4), ("AAAA", server.public_ipv6)):
                if not address:
                    continue
                rec = self._call("post", f"/domain/zone/{zone}/record",
                                 f"creating the {kind} record", fieldType=kind,
                                 subDomain=sub, target=address, ttl=DNS_TTL)
                made.append({"id": rec["id"], "type": kind, "target": address})
            self._call("post", f"/domain/zone/{zone}/refresh", "refreshing the zone")
        except BaseException:
            for rec in made:    # the engine never heard of these: remove them here
                with contextlib.suppress(UserError, ovh_exc.APIError):
                    self._call("delete", f"/domain/zone/{zone}/record/{rec['id']}",
                               "removing a record")
            raise
        return Resource("dns_record", ",".join(str(r["id"]) for r in made), zone,
                        {"zone": zone, "name": req.domain, "subdomain": sub, "records": made})

    def delete(self, res: Resource) -> None:
        import ovh.exceptions as ovh_exc
        zone = res.info.get("zone") or res.region
        deleted = 0
        for rid in [r for r in res.id.split(",") if r]:
            try:
                self._call("delete", f"/domain/zone/{zone}/record/{rid}", "deleting a record")
                deleted += 1
            except ovh_exc.ResourceNotFoundError:
                pass        # already gone
        if deleted:
            self._call("post", f"/domain/zone/{zone}/refresh", "refreshing the zone")

    def status(self, res: Resource) -> dict[str, Any]:
        import ovh.exceptions as ovh_exc
        zone = res.info.get("zone") or res.region
        out = []
        for rid in [r for r in res.id.split(",") if r]:
            try:
                rec = self._call("get", f"/domain/zone/{zone}/record/{rid}", "reading a record")
                out.append({"id": rid, "type": rec.get("fieldType"),
                            "target": rec.get("target"), "ttl": rec.get("ttl")})
            except ovh_exc.ResourceNotFoundError:
                out.append({"id": rid, "missing": True})
        return {"name": res.info.get("name"), "zone": zone, "records": out}
