"""`--dns gandi`: the meeting name's A (and AAAA) record in a Gandi LiveDNS zone.

Gandi's LiveDNS API v5 over plain HTTPS with `requests` (no SDK; dns-lexicon is not used: it
pulls tldextract, which downloads the public suffix list at run time). The API facts, from
Gandi's reference (https://api.gandi.net/docs/livedns/, https://api.gandi.net/docs/
authentication/) as used by community.general's gandi_livedns module
(plugins/module_utils/gandi_livedns_api.py), lego's gandiv5 provider and dnscontrol's
GANDI_V5 provider:
  base URL          https://api.gandi.net/v5/livedns
  a zone            GET    /domains/{fqdn}                       (404: not in the account)
  records at a name GET    /domains/{fqdn}/records/{rrset_name}  (a list of rrsets)
  one rrset         GET|POST|PUT|DELETE /domains/{fqdn}/records/{rrset_name}/{rrset_type}
                    body {"rrset_values": [...], "rrset_ttl": N}; POST answers 201, 409
                    when the rrset exists; DELETE answers 204, 404 when it does not
  the zone apex     rrset_name "@"
  TTL               300 s to 2592000 s (30 days): 300 is the shortest Gandi accepts
  authentication    "Authorization: Bearer <Personal Access Token>"; the older
                    "Authorization: Apikey <API key>" is deprecated by Gandi
  errors            401 (bad token), 403 (token without the LiveDNS permission or not on
                    this domain's organisation), 429 (rate limit)

Credentials: GANDI_PAT (a Personal Access Token with "Manage domain name technical
configurations"); GANDI_API_KEY (the deprecated API key) only when GANDI_PAT is unset.
Neither is printed, logged, or written to the state file or the inventory. GANDI_API_URL
overrides the base URL (the tests point it at a loopback fake).
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Any

from jitsi_sovereign.cloud.model import CreateRequest, Resource, Server
from jitsi_sovereign.cloud.provider import missing_sdk
from jitsi_sovereign.errors import UserError

API_URL = "https://api.gandi.net/v5/livedns"
DNS_TTL = 300      # Gandi's minimum: short, since a VM made again gets another address
GANDI_FIX = ("export GANDI_PAT=<a Personal Access Token> (Gandi account > Organisations > "
             "Personal Access Tokens, permission 'Manage domain name technical "
             "configurations' on the domain's organisation)")


class GandiError(Exception):
    """An API answer we could not use; `status` is its HTTP status (0: no answer)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def zone_candidates(domain: str) -> list[str]:
    """The names that could be the zone holding `domain`, longest first (two labels at
    least: a TLD alone is never an account's zone)."""
    labels = domain.rstrip(".").lower().split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


class GandiDns:
    """The meeting name's A (and AAAA) record in a Gandi LiveDNS zone."""

    name = "gandi"

    def __init__(self, *, timeout: tuple[float, float] = (10.0, 30.0), retries: int = 4,
                 retry_delay: float = 2.0, **_ignored: Any) -> None:
        try:
            import requests
        except ImportError:
            raise missing_sdk("gandi", "requests") from None
        self.timeout = timeout
        self.retries = retries
        self.retry_delay = retry_delay
        self.base = (os.environ.get("GANDI_API_URL") or API_URL).rstrip("/")
        self._session = requests.Session()
        self._zones: dict[str, str] = {}

    # ---- HTTP -----------------------------------------------------------------------

    def _auth(self) -> str:
        pat = os.environ.get("GANDI_PAT", "").strip()
        if pat:
            return f"Bearer {pat}"
        key = os.environ.get("GANDI_API_KEY", "").strip()
        if key:
            return f"Apikey {key}"      # deprecated by Gandi, still accepted
        raise UserError("no Gandi credentials: GANDI_PAT is not set", GANDI_FIX)

    def _request(self, method: str, path: str, doing: str, body: dict | None = None,
                 ok_404: bool = False, ok_403: bool = False) -> tuple[int, Any]:
        """(status, JSON or None). 429 and 5xx answers are retried `retries` times (429's
        Retry-After honoured up to 30 s); 401/403 become a UserError naming the fix; a 404
        is returned when `ok_404` (a 403 when `ok_403`), else raised as GandiError."""
        import requests

        auth = self._auth()
        url = f"{self.base}{path}"
        for attempt in range(self.retries + 1):
            try:
                resp = self._session.request(
                    method, url, json=body, timeout=self.timeout,
                    headers={"Authorization": auth, "Accept": "application/json"})
            except requests.RequestException as exc:
                if attempt < self.retries:
                    time.sleep(self.retry_delay)
                    continue
                raise UserError(f"the Gandi API did not answer {doing}: "
                                f"{type(exc).__name__}",
                                "check the network, then run the same command again") from None
            status = resp.status_code
            if (status == 429 or status >= 500) and attempt < self.retries:
                delay = self.retry_delay
                if status == 429:
                    with contextlib.suppress(TypeError, ValueError):
                        delay = min(30.0, max(delay, float(resp.headers.get("Retry-After"))))
                time.sleep(delay)
                continue
            break
        try:
            data = resp.json() if resp.content else None
        except ValueError:
            data = None
        if status < 300:
            return status, data
        if (status == 404 and ok_404) or (status == 403 and ok_403):
            return status, data
        why = ""
        if isinstance(data, dict):
            why = str(data.get("message") or data.get("cause") or "")[:200]
        if status == 401:
            raise UserError(f"the Gandi API refused the credentials {doing} (401)", GANDI_FIX)
        if status == 403:
            raise UserError(f"the Gandi token may not {doing} (403: {why or 'forbidden'})",
                            GANDI_FIX)
        if status == 429:
            raise UserError(f"the Gandi API kept answering 429 (rate limit) {doing}",
                            "wait a minute, then run the same command again")
        raise GandiError(status, f"the Gandi API failed {doing}: {status}"
                                 + (f" {why}" if why else ""))

    def _call(self, method: str, path: str, doing: str, body: dict | None = None,
              ok_404: bool = False, ok_403: bool = False) -> tuple[int, Any]:
        try:
            return self._request(method, path, doing, body, ok_404, ok_403)
        except GandiError as exc:
            raise UserError(str(exc), "run the same command again later") from None

    # ---- zone and name --------------------------------------------------------------

    def _zone(self, domain: str) -> tuple[str, str]:
        """(zone, rrset name) of `domain`: the longest zone the account holds."""
        domain = domain.rstrip(".").lower()
        if domain not in self._zones:
            denied = []
            for cand in zone_candidates(domain):
                # 404: no such zone here; 403: a zone this token may not read (another
                # organisation's, or a token without LiveDNS rights): try the next one
                status, _ = self._call("GET", f"/domains/{cand}", f"read the zone {cand}",
                                       ok_404=True, ok_403=True)
                if status < 300:
                    self._zones[domain] = cand
                    break
                if status == 403:
                    denied.append(cand)
            else:
                raise UserError(
                    f"the Gandi account holds no LiveDNS zone for {domain} (tried "
                    f"{', '.join(zone_candidates(domain))}"
                    + (f"; the token may not read {', '.join(denied)} (403)" if denied else "")
                    + ")",
                    "use the token of the organisation that holds the domain (its DNS "
                    "served by LiveDNS), or --dns none and create the A/AAAA record yourself")
        zone = self._zones[domain]
        sub = domain[: -len(zone)].rstrip(".") if domain != zone else ""
        return zone, sub or "@"

    # ---- the DnsProvider protocol -----------------------------------------------------

    def check(self, req: CreateRequest) -> list[UserError]:
        """Read-only: the credentials, the zone, no A/AAAA/CNAME at the name yet."""
        try:
            zone, sub = self._zone(req.domain)
            _status, rrsets = self._call("GET", f"/domains/{zone}/records/{sub}",
                                         f"reading the records of {req.domain}", ok_404=True)
        except UserError as exc:
            return [exc]
        taken = [f"{r.get('rrset_type')} {' '.join(map(str, r.get('rrset_values') or []))}"
                 for r in (rrsets if isinstance(rrsets, list) else [])
                 if r.get("rrset_type") in ("A", "AAAA", "CNAME")]
        if taken:
            return [UserError(f"{req.domain} already has DNS records in the Gandi zone "
                              f"{zone}: {', '.join(taken)}",
                              "delete them in Gandi's LiveDNS panel (or point them yourself "
                              "and use --dns none)")]
        return []

    def create_record(self, req: CreateRequest, server: Server) -> Resource:
        zone, sub = self._zone(req.domain)
        made: list[dict[str, Any]] = []
        try:
            for kind, address in (("A", server.public_ipv4), ("AAAA", server.public_ipv6)):
                if not address:
                    continue
                try:
                    self._request("POST", f"/domains/{zone}/records/{sub}/{kind}",
                                  f"creating the {kind} record of {req.domain}",
                                  {"rrset_values": [address], "rrset_ttl": DNS_TTL})
                except GandiError as exc:
                    if exc.status == 409 and self._holds(zone, sub, kind, address):
                        # a POST whose answer was lost, retried: check() saw no record at
                        # the name, and this address is the new VM's: the rrset is ours
                        made.append({"type": kind, "target": address})
                        continue
                    if exc.status == 409:
                        raise UserError(f"{req.domain} got a {kind} record in the Gandi zone "
                                        f"{zone} meanwhile (409): it is not ours, left as is",
                                        "delete it in Gandi's LiveDNS panel, then create "
                                        "again") from None
                    raise UserError(str(exc), "run the same command again later") from None
                made.append({"type": kind, "target": address})
        except BaseException:
            for rec in made:    # the engine never heard of these: remove them here
                with contextlib.suppress(UserError, GandiError):
                    self._request("DELETE", f"/domains/{zone}/records/{sub}/{rec['type']}",
                                  "removing a record", ok_404=True)
            raise
        return Resource("dns_record", ",".join(f"{sub}/{r['type']}" for r in made), zone,
                        {"zone": zone, "name": req.domain, "rrset_name": sub,
                         "ttl": DNS_TTL, "records": made})

    def _holds(self, zone: str, sub: str, kind: str, address: str) -> bool:
        status, data = self._call("GET", f"/domains/{zone}/records/{sub}/{kind}",
                                  f"reading the {kind} record", ok_404=True)
        return status < 300 and isinstance(data, dict) and \
            data.get("rrset_values") == [address]

    def _rrsets(self, res: Resource) -> tuple[str, list[str]]:
        zone = res.info.get("zone") or res.region
        return zone, [r for r in res.id.split(",") if r]

    def delete(self, res: Resource) -> None:
        zone, rrsets = self._rrsets(res)
        for rrset in rrsets:        # "<name>/<type>"; already gone (404) is fine
            self._call("DELETE", f"/domains/{zone}/records/{rrset}",
                       f"deleting the {rrset} record", ok_404=True)

    def status(self, res: Resource) -> dict[str, Any]:
        zone, rrsets = self._rrsets(res)
        out = []
        for rrset in rrsets:
            status, data = self._call("GET", f"/domains/{zone}/records/{rrset}",
                                      f"reading the {rrset} record", ok_404=True)
            kind = rrset.rsplit("/", 1)[-1]
            if status == 404 or not isinstance(data, dict):
                out.append({"id": rrset, "type": kind, "missing": True})
            else:
                out.append({"id": rrset, "type": data.get("rrset_type", kind),
                            "values": data.get("rrset_values"), "ttl": data.get("rrset_ttl")})
        return {"name": res.info.get("name"), "zone": zone, "records": out}
