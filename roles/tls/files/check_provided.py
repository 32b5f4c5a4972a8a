"""Check a provided certificate on the controller, before anything is installed.

argv[1]: JSON {cert, chain, key, domains}. Prints JSON {errors, not_after, issuer,
subject, serial, publicly_trusted}. Uses the cryptography package, a dependency of
ansible-core (so present wherever ansible-playbook runs).
"""

import datetime
import json
import ssl
import sys

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def load_certs(path):
    with open(path, "rb") as handle:
        return x509.load_pem_x509_certificates(handle.read())


def covered(name, patterns):
    for pattern in patterns:
        pattern = pattern.lower().rstrip(".")
        if pattern == name:
            return True
        if pattern.startswith("*.") and "." in name and name.split(".", 1)[1] == pattern[2:]:
            return True
    return False


def spki(key):
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def main():
    req = json.loads(sys.argv[1])
    errors = []
    out = {"errors": errors, "not_after": None, "issuer": None, "subject": None, "serial": None,
           "publicly_trusted": None}
    try:
        certs = load_certs(req["cert"])
    except (OSError, ValueError) as exc:
        errors.append(f"{req['cert']}: not a PEM certificate ({exc})")
        print(json.dumps(out))
        return
    leaf, intermediates = certs[0], certs[1:]
    if req.get("chain"):
        try:
            intermediates += load_certs(req["chain"])
        except (OSError, ValueError) as exc:
            errors.append(f"{req['chain']}: not a PEM chain ({exc})")
    out.update(not_after=leaf.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
               issuer=leaf.issuer.rfc4514_string(), subject=leaf.subject.rfc4514_string(),
               serial=format(leaf.serial_number, "X"))

    now = datetime.datetime.now(datetime.timezone.utc)
    if leaf.not_valid_after_utc <= now:
        errors.append(f"the certificate expired on {out['not_after']}")
    if leaf.not_valid_before_utc > now:
        errors.append(f"the certificate is not valid before {leaf.not_valid_before_utc:%Y-%m-%d %H:%M} UTC")

    try:
        with open(req["key"], "rb") as handle:
            key = serialization.load_pem_private_key(handle.read(), password=None)
    except TypeError:
        errors.append(f"{req['key']}: the key is encrypted (a server cannot type its passphrase): decrypt it")
        key = None
    except (OSError, ValueError) as exc:
        errors.append(f"{req['key']}: not a PEM private key ({exc})")
        key = None
    if key is not None:
        if spki(key.public_key()) != spki(leaf.public_key()):
            errors.append(f"the key {req['key']} does not match the certificate {req['cert']}")
        if isinstance(key, rsa.RSAPrivateKey) and key.key_size < 2048:
            errors.append(f"the RSA key has {key.key_size} bits (2048 at least)")

    try:
        sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = sans.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = []
    missing = [d for d in req["domains"] if not covered(d.lower(), names)]
    if missing:
        errors.append(f"the certificate does not cover {', '.join(missing)} (its names: {', '.join(names) or 'none'})")

    # Each certificate must be signed by the next one of the chain.
    chain = [leaf] + intermediates
    for child, parent in zip(chain, chain[1:]):
        try:
            child.verify_directly_issued_by(parent)
        except (ValueError, TypeError, Exception) as exc:  # noqa: BLE001 - InvalidSignature and friends
            errors.append(f"the chain does not verify: '{child.subject.rfc4514_string()}' is not signed by "
                          f"'{parent.subject.rfc4514_string()}' ({type(exc).__name__})")
            break
    if not intermediates and leaf.issuer != leaf.subject:
        errors.append(f"no intermediate certificate: give the chain of '{out['issuer']}' in tls_provided_chain")

    # Trusted by this machine's system CAs (what browsers would do, roughly)?
    try:
        from cryptography.x509.verification import PolicyBuilder, Store

        cafile = ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt"
        store = Store(load_certs(cafile))
        verifier = PolicyBuilder().store(store).time(now).build_server_verifier(
            x509.DNSName(req["domains"][0]))
        try:
            verifier.verify(leaf, intermediates)
            out["publicly_trusted"] = True
        except Exception:  # noqa: BLE001 - VerificationError
            out["publicly_trusted"] = False
    except Exception:  # noqa: BLE001 - no system store, old cryptography: unknown
        out["publicly_trusted"] = None
    print(json.dumps(out))


if __name__ == "__main__":
    main()
