"""Where a VM may be created: per provider, an allow-list of regions in France, each with
the law its operator answers to. A region outside the list is refused before any call,
naming the allowed ones; the provider's check() also intersects it with the live list.

Sources: /work/shared/reference/cloud-providers.md, section 1 (the SDKs' zone lists, the
OVHcloud firewall guide, Outscale's endpoint reference). Left out because unverified: the
OVHcloud Paris 3-AZ location ``eu-west-par`` and RBX as instance regions.
"""

from __future__ import annotations

from jitsi_sovereign.cloud.model import Region
from jitsi_sovereign.errors import UserError

_SCW = ("Scaleway SAS, société de droit français (Paris) / "
        "Scaleway SAS, a company under French law (Paris)")
_OVH = ("OVH SAS, société de droit français (Roubaix) / "
        "OVH SAS, a company under French law (Roubaix)")
_OSC = ("3DS Outscale SAS, société de droit français (Saint-Cloud) / "
        "3DS Outscale SAS, a company under French law (Saint-Cloud)")

REGIONS: dict[str, dict[str, Region]] = {
    "scaleway": {r.code: r for r in (
        Region("fr-par-1", "Paris", jurisdiction=_SCW),
        Region("fr-par-2", "Paris", jurisdiction=_SCW),
        Region("fr-par-3", "Paris", jurisdiction=_SCW),
    )},
    "ovh": {r.code: r for r in (
        *(Region(f"GRA{n}", "Gravelines", jurisdiction=_OVH) for n in range(1, 12)),
        Region("SBG5", "Strasbourg", jurisdiction=_OVH),
        Region("SBG7", "Strasbourg", jurisdiction=_OVH),
    )},
    "outscale": {r.code: r for r in (
        Region("eu-west-2", "Paris", jurisdiction=_OSC),
        Region("cloudgouv-eu-west-1", "Paris", jurisdiction=_OSC,
               certification="SecNumCloud"),
    )},
}

# As the report names them (jitsi_sovereign_hosting.provider).
PROVIDER_NAMES = {"scaleway": "Scaleway", "ovh": "OVHcloud", "outscale": "3DS Outscale"}

# What the lists leave out, shown by `cloud regions`.
NOTES: dict[str, str] = {
    "ovh": "eu-west-par (Paris 3-AZ) and RBX are left out: not confirmed as instance "
           "regions. OVHcloud's SecNumCloud offers are not Public Cloud.",
    "outscale": "cloudgouv-eu-west-1 is Outscale's SecNumCloud region (check the ANSSI "
                "list for the current qualification); eu-west-2 is not qualified.",
    "scaleway": "No SecNumCloud qualification is claimed for Scaleway Instances.",
}


def providers() -> list[str]:
    return list(REGIONS)


def region(provider: str, code: str) -> Region:
    """The allowed region `code` of `provider`, else a UserError naming the allowed ones."""
    if provider not in REGIONS:
        raise UserError(f"unknown provider {provider!r}",
                        f"choose one of: {', '.join(REGIONS)}")
    allowed = REGIONS[provider]
    if code in allowed:
        return allowed[code]
    raise UserError(
        f"region {code!r} is not an allowed region of {provider} in France",
        f"choose one of: {', '.join(allowed)} (only regions in France are allowed)")
