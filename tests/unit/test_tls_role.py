"""The tls role: its settings, its preflight rules, its decisions and its scripts
(files/resolve.py, files/check_provided.py, files/selfsigned.sh), run here with fake inputs."""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess

import pytest
from role_files import (
    ROOT,
    assert_defaults_match_specs,
    load_source,
    preflight_problems,
    role_yaml,
    templar,
    trusted,
)

FILES = ROOT / "roles" / "tls" / "files"
# Some of the system's CAs (read for publicly_trusted) have a serial number RFC 5280 disallows.
pytestmark = pytest.mark.filterwarnings("ignore:Parsed a serial number:UserWarning")
resolve = load_source(FILES / "resolve.py", "tls_resolve")
check_provided = load_source(FILES / "check_provided.py", "tls_check_provided")

# What the DNS probe answers when every name resolves to this host.
DNS_OK = {"resolved": {"meet.example.org": ["198.51.100.11"]}, "addresses": ["198.51.100.11"],
          "mine": ["198.51.100.11"], "elsewhere": [], "nat": {}}


def problems(**over) -> list[str]:
    """The preflight's messages; the probes found nothing wrong unless `over` says so."""
    return preflight_problems("tls", **{"_tls_dns": DNS_OK, "_tls_provided_check": {"errors": []},
                                        **over})


def test_defaults_match_argument_specs():
    assert_defaults_match_specs("tls")


def test_preflight_entry_point_checks_the_same_options():
    specs = role_yaml("tls", "meta", "argument_specs.yml")["argument_specs"]
    assert specs["preflight"]["options"] == specs["main"]["options"]
    assert specs["main"]["options"]["tls_mode"]["choices"] == ["acme", "provided", "selfsigned"]


def test_packages_follow_the_mode():
    for mode, want in (("acme", ["openssl", "certbot"]), ("selfsigned", ["openssl"]),
                       ("provided", ["openssl"])):
        got = templar("tls", {"tls_mode": mode}).template(trusted("{{ tls_packages }}"))
        assert got == want


# ------------------------------------------------------------------ preflight: settings


def test_preflight_accepts_the_defaults():
    assert problems() == []


@pytest.mark.parametrize(("settings", "words"), [
    ({"tls_domains": ["meet.example.org", "meet_example.org"]},
     "tls_domains must hold host names such as meet.example.org (not meet_example.org)"),
    ({"tls_domains": []}, "jitsi_sovereign_domain is not set: give the meeting FQDN"),
    ({"tls_domains": ["*.example.org"]},
     "A wildcard in tls_domains (*.example.org) needs tls_mode provided (is acme)"),
    ({"tls_domains": ["*.example.org"], "tls_mode": "selfsigned"}, "needs tls_mode provided"),
    ({"tls_acme_renew_before_days": "0"}, "tls_acme_renew_before_days must be at least 1 (is 0)"),
    ({"tls_selfsigned_days": 30}, "tls_selfsigned_days must be more than 30 (is 30)"),
    ({"tls_renew_hooks": ["nginx", "a b"]}, "tls_renew_hooks must be systemd unit names (not a b)"),
    ({"tls_acme_directory_url": "http://acme.example/dir"},
     "tls_acme_directory_url must be an https:// URL (is http://acme.example/dir)"),
    ({"tls_acme_email": "admin"}, "tls_acme_email must be an address or empty (is admin)"),
    ({"tls_acme_ca_bundle": "/nonexistent/ca.pem"},
     "tls_acme_ca_bundle must be a PEM file on the controller, or empty (/nonexistent/ca.pem: "
     "not found)"),
    ({"tls_mode": "provided"}, "tls_mode provided needs tls_provided_cert and tls_provided_key"),
])
def test_preflight_names_each_bad_setting(settings, words):
    (problem,) = problems(**settings)
    assert words in problem


def test_preflight_names_the_provided_files_not_found(tmp_path):
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    (problem,) = problems(tls_mode="provided", tls_provided_cert=str(cert),
                          tls_provided_key="/nonexistent/key.pem", tls_provided_chain="/no/chain")
    assert problem.endswith("Not found: /nonexistent/key.pem, /no/chain.")


def test_acme_settings_are_not_checked_in_other_modes():
    assert problems(tls_mode="selfsigned", tls_acme_directory_url="http://x",
                    tls_acme_email="nope") == []


def test_preflight_reports_every_problem_at_once():
    found = problems(tls_acme_email="admin", tls_selfsigned_days=1,
                     facts={"distribution": "Ubuntu", "distribution_version": "24.04",
                            "distribution_major_version": "24"})
    assert len(found) == 3
    assert found[0] == "The tls role supports Debian 12 and 13; this host runs Ubuntu 24.04."


def test_preflight_without_the_meeting_domain_says_so_once():
    """tls_domains derives from jitsi_sovereign_domain: without it, one message, no error
    from the rules that read the names."""
    (task,) = [t for t in role_yaml("tls", "tasks", "preflight.yml")
               if t["name"].startswith("Check the TLS settings")]
    t = templar("tls", {**trusted(task["vars"]), "ansible_facts": {
        "distribution": "Debian", "distribution_major_version": "13"}})
    t.available_variables = {k: v for k, v in t.available_variables.items()
                             if k != "jitsi_sovereign_domain"}
    (problem,) = t.template(trusted("{{ _problems }}"))
    assert problem.startswith("jitsi_sovereign_domain is not set")


# ------------------------------------------------------------- preflight: what the probes found


def test_a_name_resolving_elsewhere_is_reported_with_the_fix():
    dns = {**DNS_OK, "elsewhere": ["meet.example.org resolves to 203.0.113.9 (from the host: "
                                   "nothing; from the controller: 203.0.113.9)."]}
    (problem,) = problems(_tls_dns=dns, ansible_host="198.51.100.11")
    assert problem.startswith("meet.example.org resolves to 203.0.113.9 (from the host")
    assert "This host's addresses are 198.51.100.11." in problem
    assert "pointing at 198.51.100.11" in problem and "tls_acme_preflight_dns: false" in problem


def test_the_dns_findings_are_ignored_when_the_check_is_off():
    dns = {**DNS_OK, "elsewhere": ["x"], "nat": {"private": "10.0.0.5", "public": "51.91.0.10",
                                                 "domain": "meet.example.org"}}
    assert problems(_tls_dns=dns, tls_acme_preflight_dns="false") == []
    assert problems(_tls_dns={"skipped": True}, tls_mode="selfsigned") == []


def test_undeclared_nat_is_reported_with_the_fix():
    nat = {"private": "10.0.0.5", "public": "51.91.0.10", "domain": "meet.example.org"}
    (problem,) = problems(_tls_dns={**DNS_OK, "nat": nat})
    assert problem.startswith("meet.example.org resolves to 51.91.0.10, which is not on this VM")
    assert ("jitsi_sovereign_public_ip: 51.91.0.10 and jitsi_sovereign_private_ip: 10.0.0.5"
            in problem)
    assert problems(_tls_dns={**DNS_OK, "nat": nat}, jitsi_sovereign_public_ip="51.91.0.10") == []


def test_a_refused_provided_certificate_lists_the_reasons(pki):
    check = {"errors": ["the certificate expired on 2020-01-01T00:00:00Z", "no intermediate"]}
    (problem,) = problems(tls_mode="provided", tls_provided_cert=pki["leaf"],
                          tls_provided_key=pki["key"], _tls_provided_check=check)
    assert problem == ("The provided certificate is refused, nothing was installed: the "
                       "certificate expired on 2020-01-01T00:00:00Z; no intermediate.")


# ------------------------------------------------------------------ files/resolve.py


@pytest.mark.parametrize(("own", "seen", "want"), [
    (["10.0.0.5"], ["51.91.0.10"], {"private": "10.0.0.5", "public": "51.91.0.10"}),
    # Carrier-grade NAT space counts as private too; IPv6 addresses are left aside.
    (["100.64.3.4", "fd00::5"], ["51.91.0.10"], {"private": "100.64.3.4", "public": "51.91.0.10"}),
    (["51.91.0.10"], ["51.91.0.10"], {}),                 # the VM has its public address
    (["10.0.0.5", "51.91.0.10"], ["51.91.0.10"], {}),     # a public address on an interface
    (["10.0.0.5"], ["10.0.0.5"], {}),                     # the name points at the VM itself
    (["10.0.0.5"], [], {}),                               # no record: the DNS check says so
    (["10.0.0.5"], ["10.9.9.9"], {}),                     # only private answers: an internal lab
    (["198.51.100.11"], ["198.51.100.11"], {}),           # the project's lab hosts
])
def test_undeclared_nat(own, seen, want):
    got = resolve.undeclared_nat("meet.example.fr", own, seen)
    assert got == ({**want, "domain": "meet.example.fr"} if want else {})


def test_resolve_reports_the_names_that_point_elsewhere(monkeypatch):
    answers = {"meet.example.org": ["198.51.100.11"], "web.example.org": [],
               "nat.example.org": ["10.0.0.5"]}
    monkeypatch.setattr(resolve, "resolve", lambda name: answers[name])
    monkeypatch.setattr(resolve, "global_addresses", lambda: ["10.0.0.5"])
    got = resolve.main({"names": list(answers), "mine": ["198.51.100.11"],
                        "controller": {"web.example.org": ["203.0.113.9"]}})
    assert got["mine"] == ["10.0.0.5", "198.51.100.11"]
    assert got["elsewhere"] == ["web.example.org resolves to 203.0.113.9 (from the host: "
                                "nothing; from the controller: 203.0.113.9)."]
    # Only private addresses on the interfaces, the first name public elsewhere: 1:1 NAT.
    assert got["nat"] == {"private": "10.0.0.5", "public": "198.51.100.11",
                          "domain": "meet.example.org"}


def test_resolve_without_the_controllers_answer_only_resolves(monkeypatch):
    monkeypatch.setattr(resolve, "global_addresses", lambda: ["198.51.100.11"])
    got = resolve.main({"names": ["localhost", "name.invalid"]})
    # Loopback answers say nothing about public DNS.
    assert got == {"resolved": {"localhost": [], "name.invalid": []},
                   "addresses": ["198.51.100.11"]}


def test_resolve_runs_through_the_controller_probe_lookup():
    t = templar("tls", {})
    got = t.template(trusted("{{ lookup('jitsi_sovereign.core.controller_probe', 'resolve.py', "
                             "{'names': ['localhost']} | to_json) }}"))
    assert got["resolved"] == {"localhost": []}


# ------------------------------------------------------------------ files/check_provided.py


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA, an intermediate, a leaf for meet.example.org and *.example.org, and bad variants."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID

    d = tmp_path_factory.mktemp("pki")
    now = datetime.datetime.now(datetime.UTC)

    def cert(cn, key, issuer_cn, issuer_key, *, names=(), ca=False, days=(-1, 90)):
        b = (x509.CertificateBuilder()
             .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
             .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn)]))
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now + datetime.timedelta(days=days[0]))
             .not_valid_after(now + datetime.timedelta(days=days[1]))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if names:
            b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                                critical=False)
        return b.sign(issuer_key, hashes.SHA256())

    def write(name, *objs):
        path = d / name
        path.write_bytes(b"".join(
            o.public_bytes(serialization.Encoding.PEM) if isinstance(o, x509.Certificate)
            else o for o in objs))
        return str(path)

    def pem_key(key, password=None):
        enc = (serialization.BestAvailableEncryption(password) if password
               else serialization.NoEncryption())
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 enc)

    ca_key, int_key, leaf_key, other_key = (ec.generate_private_key(ec.SECP256R1())
                                            for _ in range(4))
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    ca = cert("Test Root", ca_key, "Test Root", ca_key, ca=True, days=(-1, 3650))
    inter = cert("Test Intermediate", int_key, "Test Root", ca_key, ca=True, days=(-1, 3650))
    names = ["meet.example.org", "*.example.org"]
    leaf = cert("meet.example.org", leaf_key, "Test Intermediate", int_key, names=names)
    return {
        "leaf": write("leaf.pem", leaf), "chain": write("chain.pem", inter),
        "fullchain": write("fullchain.pem", leaf, inter),
        "key": write("key.pem", pem_key(leaf_key)),
        "other_key": write("other.pem", pem_key(other_key)),
        "encrypted_key": write("enc.pem", pem_key(leaf_key, b"secret")),
        "expired": write("expired.pem", cert("meet.example.org", leaf_key, "Test Intermediate",
                                             int_key, names=names, days=(-90, -1)), inter),
        "future": write("future.pem", cert("meet.example.org", leaf_key, "Test Intermediate",
                                           int_key, names=names, days=(2, 90)), inter),
        "wrong_chain": write("wrong.pem", ca),
        "small": write("small.pem", cert("meet.example.org", small, "Test Intermediate", int_key,
                                         names=names), inter),
        "small_key": write("small-key.pem", pem_key(small)),
        "garbage": write("garbage.pem", b"not a certificate\n"),
    }


def run_check(pki, **req):
    request = {"cert": pki["leaf"], "chain": pki["chain"], "key": pki["key"],
               "domains": ["meet.example.org"], **req}
    return check_provided.check(request)


def test_a_good_certificate_passes(pki):
    out = run_check(pki, domains=["meet.example.org", "guest.example.org"])
    assert out["errors"] == []
    assert out["subject"] == "CN=meet.example.org" and out["issuer"] == "CN=Test Intermediate"
    assert out["publicly_trusted"] is False  # a private CA
    assert run_check(pki, cert=pki["fullchain"], chain="")["errors"] == []


@pytest.mark.parametrize(("req", "words"), [
    ({"cert": "garbage"}, "garbage.pem: not a PEM certificate"),
    ({"cert": "/nonexistent.pem"}, "/nonexistent.pem: not a PEM certificate"),
    ({"chain": "garbage"}, "garbage.pem: not a PEM chain"),
    ({"cert": "expired"}, "the certificate expired on "),
    ({"cert": "future"}, "the certificate is not valid before "),
    ({"key": "other_key"}, "does not match the certificate"),
    ({"key": "encrypted_key"}, "the key is encrypted (a server cannot type its passphrase)"),
    ({"key": "garbage"}, "garbage.pem: not a PEM private key"),
    ({"domains": ["meet.example.org", "a.b.example.org", "other.org"]},
     "the certificate does not cover a.b.example.org, other.org (its names: meet.example.org, "
     "*.example.org)"),
    ({"chain": "wrong_chain"}, "the chain does not verify: 'CN=meet.example.org' is not signed by "
                              "'CN=Test Root'"),
    ({"chain": ""}, "no intermediate certificate: give the chain of 'CN=Test Intermediate' in "
                    "tls_provided_chain"),
    ({"cert": "small", "key": "small_key"}, "the RSA key has 1024 bits (2048 at least)"),
])
def test_each_problem_of_a_provided_certificate(pki, req, words):
    req = {k: pki.get(v, v) if isinstance(v, str) else v for k, v in req.items()}
    errors = run_check(pki, **req)["errors"]
    assert any(words in e for e in errors), errors


def test_check_provided_runs_through_the_controller_probe_lookup(pki):
    request = {"cert": pki["leaf"], "chain": "", "key": pki["other_key"],
               "domains": ["meet.example.org"]}
    t = templar("tls", {"_req": request})
    out = t.template(trusted("{{ lookup('jitsi_sovereign.core.controller_probe', "
                             "'check_provided.py', _req | to_json) }}"))
    assert len(out["errors"]) == 2 and "does not match" in out["errors"][0]


# ------------------------------------------------------------------ files/selfsigned.sh


def test_selfsigned_script_is_valid_sh():
    subprocess.run(["sh", "-n", str(FILES / "selfsigned.sh")], check=True)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl here")
def test_selfsigned_script_makes_the_certificate(tmp_path):
    from cryptography import x509

    args = templar("tls", {"tls_domains": ["meet.example.org", "web.example.org"],
                           "_tls_dir": str(tmp_path)}).template(
        trusted("{{ _tls_selfsigned_args }}"))
    (tmp_path / "privkey.pem").symlink_to("/nonexistent")  # acme's link: replaced
    subprocess.run(["sh", str(FILES / "selfsigned.sh"), *map(str, args)], check=True)
    cert = x509.load_pem_x509_certificate((tmp_path / "fullchain.pem").read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["meet.example.org", "web.example.org"]
    assert cert.subject.rfc4514_string() == "CN=meet.example.org" == cert.issuer.rfc4514_string()
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days == 365
    assert not (tmp_path / "privkey.pem").is_symlink()
    assert (tmp_path / "privkey.pem").stat().st_mode & 0o777 == 0o600


# ------------------------------------------------------------- decisions (tasks/read_state.yml)

CERT = {"sans": ["meet.example.org"], "issuer": "CN=meet.example.org",
        "subject": "CN=meet.example.org", "days_left": 200, "pubkey_sha1": "k1"}
ACME_CONF = "version = 2.11\nserver = https://acme-v02.api.letsencrypt.org/directory\n"


def todo(mode="selfsigned", cert=CERT, acme=None, keys=None, links=None, conf=None, **over):
    """_tls_todo decided from a fake read of the host."""
    (task,) = [t for t in role_yaml("tls", "tasks", "read_state.yml")
               if "ansible.builtin.set_fact" in t]
    live, key = "/etc/letsencrypt/live/jitsi-sovereign", "/etc/jitsi-sovereign/tls/privkey.pem"
    current = {
        "certs": {"/etc/jitsi-sovereign/tls/fullchain.pem": cert, f"{live}/fullchain.pem": acme},
        "keys": keys or {key: "k1", f"{live}/privkey.pem": "k1"},
        "links": links or {key: None, "/etc/jitsi-sovereign/tls/fullchain.pem": None},
        "texts": {"/etc/letsencrypt/renewal/jitsi-sovereign.conf": conf},
        "units": {"certbot.timer": {"enabled": "enabled", "active": "active"}},
    }
    t = templar("tls", {**trusted(task["vars"]), "_tls_current": current, "tls_mode": mode,
                        **over})
    return t.template(trusted(task["ansible.builtin.set_fact"]["_tls_todo"]))


def test_selfsigned_kept_when_nothing_changed():
    assert todo()["selfsigned"] == []
    assert todo(mode="acme", cert=None, acme=CERT, conf=ACME_CONF)["selfsigned"] == []


@pytest.mark.parametrize(("kw", "reasons"), [
    ({"cert": None}, ["no certificate yet"]),
    ({"cert": {**CERT, "issuer": "CN=Pebble"}},
     ["the current certificate is not a self-signed one"]),
    ({"cert": {**CERT, "sans": ["old.example.org"], "days_left": 3}},
     ["the names changed", "it expires in 3 days"]),
    ({"keys": {"/etc/jitsi-sovereign/tls/privkey.pem": "k2"}}, ["the key does not match it"]),
])
def test_selfsigned_reasons(kw, reasons):
    assert todo(**kw)["selfsigned"] == reasons


def test_acme_request_only_for_a_reason():
    assert todo(mode="acme", acme=CERT, conf=ACME_CONF)["acme_request"] == []
    assert todo(mode="acme", acme=None)["acme_request"] == ["no certificate from certbot yet"]
    assert todo(mode="acme", acme=CERT, conf=None)["acme_request"] == [
        "no certificate from certbot yet"]
    got = todo(mode="acme", acme={**CERT, "days_left": 10}, conf=ACME_CONF,
               tls_acme_directory_url="https://198.51.100.1:14000/dir")["acme_request"]
    assert got == ["the ACME server changed (was https://acme-v02.api.letsencrypt.org/directory)",
                   "it expires in 10 days (renewal below 30)"]


def test_renewal_configuration_and_timer_decisions():
    conf = ACME_CONF + "renew_before_expiry = 30 days\n"
    assert todo(mode="acme", acme=CERT, conf=conf)["acme_renew_conf"] is False
    assert todo(mode="acme", acme=CERT, conf=ACME_CONF)["acme_renew_conf"] is True
    assert todo(mode="selfsigned")["timer"] is False


# ------------------------------------------------------------------ certbot's failure, explained


def test_a_failed_request_says_what_certbot_said():
    (task,) = role_yaml("tls", "tasks", "acme_request.yml")
    (fail,) = task["rescue"]
    failed = {"stdout": "Saving debug log\n  Domain: meet.example.org\n  Type: dns\n"
                        "  Detail: no valid A records\nHint: check DNS\n",
              "stderr": "Some challenges have failed.\nAsk for help at community.letsencrypt.org\n"}
    t = templar("tls", {**trusted(fail["vars"]), "ansible_failed_result": failed,
                        "ansible_failed_task": {"name": "Ask the ACME server (certbot certonly)"}})
    msg = " ".join(t.template(trusted(fail["ansible.builtin.fail"]["msg"])).split())
    assert ("certbot said: Domain: meet.example.org / Type: dns / Detail: no valid A records / "
            "Hint: check DNS / Some challenges have failed.") in msg
    assert msg.endswith("The certificate in use and nginx were not changed.")


def test_the_host_probe_gets_the_controllers_answer():
    (task,) = [t for t in role_yaml("tls", "tasks", "preflight.yml")
               if "jitsi_sovereign.core.probe" in t]
    (arg,) = task["jitsi_sovereign.core.probe"]["args"]
    t = templar("tls", {"tls_domains": ["localhost"], "inventory_hostname": "meet1"})
    request = json.loads(t.template(trusted(arg)))
    assert request == {"names": ["localhost"], "mine": ["meet1"],
                       "controller": {"localhost": []}}
    assert resolve.main(request)["elsewhere"] == [
        "localhost resolves to nothing (from the host: nothing; from the controller: nothing)."]
