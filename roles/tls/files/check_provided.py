"""Check a provided certificate on the controller, before anything is installed.

Run by the tls preflight (lookup jitsi_sovereign.core.controller_probe) with the Python that
runs Ansible: the cryptography package is one of ansible-core's dependencies. Read-only.

argv[1]: JSON {cert, chain, key, domains}. Prints JSON {errors, not_after, issuer, subject,
serial, publicly_trusted}: errors is empty when the certificate can be installed.
"""

from __future__ import annotations

import datetime
import json
import ssl
import sys
from itertools import pairwise

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def load_certs(path: str) -> list[x509.Certificate]:
    with open(path, "rb") as handle:
        return x509.load_pem_x509_certificates(handle.read())


def covered(name: str, patterns: list[str]) -> bool:
    """Whether a certificate name (or a *. wildcard of it) matches `name`."""
    for pattern in (p.lower().rstrip(".") for p in patterns):
        if pattern == name:
            return True
        if pattern.startswith("*.") and "." in name and name.split(".", 1)[1] == pattern[2:]:
            return True
    return False


def spki(key) -> bytes:
    return key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def validity_problems(leaf: x509.Certificate, now: datetime.datetime) -> list[str]:
    if leaf.not_valid_after_utc <= now:
        return [f"the certificate expired on {leaf.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}"]
    if leaf.not_valid_before_utc > now:
        return [f"the certificate is not valid before {leaf.not_valid_before_utc:%Y-%m-%d %H:%M}"
                " UTC"]
    return []


def key_problems(req: dict, leaf: x509.Certificate) -> list[str]:
    path = req["key"]
    try:
        with open(path, "rb") as handle:
            key = serialization.load_pem_private_key(handle.read(), password=None)
    except TypeError:
        return [f"{path}: the key is encrypted (a server cannot type its passphrase): "
                "decrypt it"]
    except (OSError, ValueError) as exc:
        return [f"{path}: not a PEM private key ({exc})"]
    problems = []
    if spki(key.public_key()) != spki(leaf.public_key()):
        problems.append(f"the key {path} does not match the certificate {req['cert']}")
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size < 2048:
        problems.append(f"the RSA key has {key.key_size} bits (2048 at least)")
    return problems


def names_problems(leaf: x509.Certificate, domains: list[str]) -> list[str]:
    try:
        sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = sans.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = []
    missing = [d for d in domains if not covered(d.lower(), names)]
    if missing:
        return [f"the certificate does not cover {', '.join(missing)} "
                f"(its names: {', '.join(names) or 'none'})"]
    return []


def chain_problems(leaf: x509.Certificate, intermediates: list[x509.Certificate]) -> list[str]:
    """Each certificate must be signed by the next one; an intermediate must be given."""
    for child, parent in pairwise([leaf, *intermediates]):
        try:
            child.verify_directly_issued_by(parent)
        except Exception as exc:  # InvalidSignature, ValueError, TypeError
            return [f"the chain does not verify: '{child.subject.rfc4514_string()}' is not "
                    f"signed by '{parent.subject.rfc4514_string()}' ({type(exc).__name__})"]
    if not intermediates and leaf.issuer != leaf.subject:
        return [f"no intermediate certificate: give the chain of "
                f"'{leaf.issuer.rfc4514_string()}' in tls_provided_chain"]
    return []


def publicly_trusted(leaf, intermediates, name: str, now) -> bool | None:
    """Trusted by this machine's system CAs (what browsers would do, roughly); None when
    unknown (no system store, an old cryptography)."""
    try:
        from cryptography.x509.verification import PolicyBuilder, Store

        cafile = ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt"
        verifier = (PolicyBuilder().store(Store(load_certs(cafile))).time(now)
                    .build_server_verifier(x509.DNSName(name)))
    except Exception:
        return None
    try:
        verifier.verify(leaf, intermediates)
    except Exception:  # VerificationError
        return False
    return True


def check(req: dict, now: datetime.datetime | None = None) -> dict:
    now = now or datetime.datetime.now(datetime.UTC)
    out = {"errors": [], "not_after": None, "issuer": None, "subject": None, "serial": None,
           "publicly_trusted": None}
    try:
        leaf, *intermediates = load_certs(req["cert"])
    except (OSError, ValueError) as exc:
        out["errors"].append(f"{req['cert']}: not a PEM certificate ({exc})")
        return out
    if req.get("chain"):
        try:
            intermediates += load_certs(req["chain"])
        except (OSError, ValueError) as exc:
            out["errors"].append(f"{req['chain']}: not a PEM chain ({exc})")
    out.update(not_after=f"{leaf.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}",
               issuer=leaf.issuer.rfc4514_string(), subject=leaf.subject.rfc4514_string(),
               serial=format(leaf.serial_number, "X"),
               publicly_trusted=publicly_trusted(leaf, intermediates, req["domains"][0], now))
    out["errors"] += (validity_problems(leaf, now) + key_problems(req, leaf)
                      + names_problems(leaf, req["domains"])
                      + chain_problems(leaf, intermediates))
    return out


if __name__ == "__main__":
    print(json.dumps(check(json.loads(sys.argv[1]))))
