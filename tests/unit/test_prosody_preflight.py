"""The prosody role's preflight (tasks/preflight.yml): each rule's message for a bad value,
none for the defaults of each auth mode; and the choices Ansible checks from
meta/argument_specs.yml (the auth modes, the feature names), declared there only."""

from __future__ import annotations

import pytest
from role_files import DOMAIN, preflight_problems, role_yaml, trusted

LDAP = {"prosody_auth": "ldap", "prosody_ldap_url": "ldaps://ldap.example.org",
        "prosody_ldap_base": "dc=example,dc=org"}
TOKEN = {"prosody_auth": "token"}
SPECS = role_yaml("prosody", "meta", "argument_specs.yml")["argument_specs"]


def _problems(**settings) -> list[str]:
    return preflight_problems("prosody", **settings)


@pytest.mark.parametrize("settings", [{}, TOKEN, LDAP, {"prosody_features": []},
                                      {**TOKEN, "prosody_jwt_secret": "x" * 32},
                                      {**TOKEN, "prosody_jwt_issuers": [
                                          "https://sso.example.fr/realms/mairie", "my-app"]},
                                      {**LDAP, "prosody_ldap_url": "ldap://ldap.example.org:389",
                                       "prosody_ldap_starttls": "true"},
                                      {"prosody_guests_enabled": "false",
                                       "jitsi_sovereign_guest_domain": DOMAIN}])
def test_preflight_accepts_good_settings(settings):
    assert _problems(**settings) == []


@pytest.mark.parametrize(("settings", "words"), [
    # the meeting's names
    ({"prosody_domain": "203.0.113.7", "prosody_guest_domain": "guest." + DOMAIN,
      "prosody_turn_host": DOMAIN},
     "prosody_domain must be the meeting's host name (is 203.0.113.7)"),
    ({"prosody_domain": trusted("{{ jitsi_sovereign_domain_unset }}")},
     "prosody_domain must be the meeting's host name (is not set): set jitsi_sovereign_domain"),
    ({"jitsi_sovereign_guest_domain": DOMAIN.upper()},
     f"prosody_guest_domain={DOMAIN.upper()} (from jitsi_sovereign_guest_domain unless set) is the "
     "main domain: guests would log in anonymously where rooms are opened. Use another name, e.g. "
     f"guest.{DOMAIN} (the default)"),
    ({"prosody_guest_domain": "guest_users"},
     "prosody_guest_domain (from jitsi_sovereign_guest_domain unless set) must be a host name"),
    ({"prosody_guest_domain": "auth." + DOMAIN}, "is one of the meeting's own XMPP domains"),
    ({"prosody_turn_host": "turn:3478"},
     "prosody_turn_host must be the host name of the TURN server"),
    ({"prosody_turns_port": "70000"},
     "prosody_turn_port and prosody_turns_port must be ports, 1-65535"),
    ({"prosody_turn_ttl": "30"}, "prosody_turn_ttl must be at least 60 seconds (is 30)"),
    ({"prosody_c2s_rate": "fast"}, "prosody_c2s_rate must be a rate such as 10kb/s (is fast)"),
    ({"prosody_token_log_days": 31}, "prosody_token_log_days must be from 1 to 30 (is 31)"),
    # the features
    ({"prosody_features": "polls"}, 'prosody_features="polls" must be a list of feature names'),
    ({"prosody_features": ["polls", "speakerstats", "breakout"]},
     "speakerstats, polls need(s) features_identity (it announces the components to the clients): "
     "add it to prosody_features"),
    # token mode
    ({**TOKEN, "prosody_jwt_secret": "x" * 31},
     "prosody_jwt_secret is 31 characters long, it needs at least 32: leave it empty to have one "
     "generated"),
    ({**TOKEN, "prosody_jwt_app_id": ""}, "prosody_jwt_app_id must not be empty"),
    ({**TOKEN, "prosody_jwt_audiences": "jitsi"},
     "prosody_jwt_issuers and prosody_jwt_audiences must be lists"),
    ({**TOKEN, "prosody_jwt_issuers": ["https://sso.example.fr/realms/mairie",
                                       "http://sso.example.fr/realms/ecole", "jitsi-sovereign"]},
     "prosody_jwt_issuers holds http://sso.example.fr/realms/ecole: an issuer given as a URL"),
    ({**TOKEN, "prosody_jwt_issuers": ["https:///no-host"]}, "must be an https:// URL with a host"),
    ({**TOKEN, "prosody_jwt_secret": "x" * 40 + "\n"}, "holds a control character"),
    ({**TOKEN, "prosody_jwt_app_id": "app\r"}, "holds a control character"),
    # ldap mode
    ({**LDAP, "prosody_ldap_url": ""},
     "LDAP authentication (prosody_auth=ldap) needs prosody_ldap_url, your directory: e.g. "
     "prosody_ldap_url: ldaps://ldap.example.org"),
    ({**LDAP, "prosody_ldap_url": "https://ldap.example.org"},
     'prosody_ldap_url="https://ldap.example.org" is not an LDAP URL: write ldaps://host[:port]'),
    ({**LDAP, "prosody_ldap_url": "ldap://ldap.example.org"},
     "prosody_ldap_url=ldap://ldap.example.org would send passwords in clear text: use ldaps://... "
     "or set prosody_ldap_starttls: true"),
    ({**LDAP, "prosody_ldap_starttls": True},
     "ldaps:// is TLS already; set prosody_ldap_starttls: false"),
    ({**LDAP, "prosody_ldap_base": ""}, "prosody_ldap_base is empty: give the DN"),
    ({**LDAP, "prosody_ldap_filter": "(uid=%u)"},
     "prosody_ldap_filter=(uid=%u) does not hold $user"),
    ({**LDAP, "prosody_ldap_bind_dn": "cn=jitsi,dc=example,dc=org"},
     "prosody_ldap_bind_dn=cn=jitsi,dc=example,dc=org without prosody_ldap_bind_password"),
    ({**LDAP, "prosody_ldap_ca_file": "/nonexistent/ca.pem"},
     "prosody_ldap_ca_file=/nonexistent/ca.pem is not a readable PEM certificate on the "
     "controller"),
])
def test_preflight_names_each_bad_setting(settings, words):
    (problem,) = _problems(**settings)
    assert words in problem


def test_the_mode_settings_are_checked_in_their_mode_only():
    assert _problems(prosody_jwt_secret="short", prosody_ldap_url="ldap://x") == []
    assert _problems(**TOKEN, prosody_ldap_base="") == []


def test_an_ldap_ca_file_must_be_a_certificate(tmp_path):
    key = tmp_path / "key.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    (problem,) = _problems(**LDAP, prosody_ldap_ca_file=str(key))
    assert "is not a readable PEM certificate" in problem
    assert _problems(**LDAP, prosody_ldap_ca_file=str(ca)) == []


def test_preflight_reports_every_problem_at_once():
    problems = _problems(**{**LDAP, "prosody_ldap_url": "ldap://ldap.example.org",
                            "prosody_ldap_base": ""}, prosody_turn_ttl=5,
                         facts={"distribution": "Ubuntu", "distribution_version": "24.04",
                                "distribution_major_version": "24"})
    assert len(problems) == 4
    assert problems[0] == "The prosody role supports Debian 12 and 13; this host runs Ubuntu 24.04."


# ---------------------------------------------------------------- the choices (Ansible's check)


def _validate(**values) -> list[str]:
    """What Ansible's role argument validation says about these values (the preflight entry
    point's options, as validate_argument_spec gets them)."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    spec = {name: {k: v for k, v in option.items() if k not in ("default", "description")}
            for name, option in SPECS["preflight"]["options"].items() if name in values}
    return ArgumentSpecValidator(spec).validate(values).error_messages


def test_the_preflight_entry_point_checks_the_main_options():
    assert SPECS["preflight"]["options"] == SPECS["main"]["options"]


def test_an_unknown_auth_mode_is_named_with_the_modes():
    (message,) = _validate(prosody_auth="kerberos")
    assert message == "value of prosody_auth must be one of: internal, token, ldap, got: kerberos"
    assert _validate(prosody_auth="token") == []


def test_an_unknown_feature_is_named_with_the_known_ones():
    (message,) = _validate(prosody_features=["polls", "features_identity", "pols"])
    assert message.startswith("value of prosody_features must be one or more of: speakerstats, ")
    assert message.endswith("Got no match for: pols")
    default = role_yaml("prosody", "defaults", "main.yml")["prosody_features"]
    assert _validate(prosody_features=default) == []
