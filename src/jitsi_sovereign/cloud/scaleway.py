"""Scaleway Instances (and Domains & DNS) through the official SDK (`scaleway`, the
optional extra jitsi-sovereign[scaleway]). The SDK is imported in the constructor only."""

from __future__ import annotations


class ScalewayProvider:
    name = "scaleway"
    # 3 vCPU, 4 GB: the smallest type with the 4 GB a videobridge needs (checked against
    # the live list of server types at run time).
    default_size = "DEV1-M"
    login_note = "Scaleway's images log in as root; cloud-init creates your user instead"

    @classmethod
    def plan_resources(cls, req):
        return [
            ("security_group", f"{req.name}: inbound drop, stateful, the rules below set at "
                               "once"),
            ("ip", "a routed public IPv4 (flexible IP)"),
            ("server", f"{req.name}: {req.size or cls.default_size}, Debian 13 (marketplace "
                       "label debian_trixie), this group only, the cloud-init below"),
        ]
