"""The parsers behind verify's BP-028 base checks (checks/test_base.py)."""

from __future__ import annotations

import pytest

from jitsi_sovereign.checks import parsers


def test_login_defs_last_value_wins_and_comments_are_skipped():
    text = ("# ENCRYPT_METHOD DES\nENCRYPT_METHOD SHA512\n\nPASS_MAX_DAYS\t99999\n"
            "  ENCRYPT_METHOD   YESCRYPT  \nENV_PATH PATH=/usr/bin:/bin\nLONELY\n")
    assert parsers.parse_login_defs(text) == {
        "ENCRYPT_METHOD": "YESCRYPT", "PASS_MAX_DAYS": "99999", "ENV_PATH": "PATH=/usr/bin:/bin"}


@pytest.mark.parametrize(("head", "length", "scheme"), [
    ("$y$j", 73, "yescrypt"),
    ("$6$r", 106, "sha512crypt"),
    ("$1$a", 34, "md5crypt"),
    ("$2b$", 60, "bcrypt"),
    ("!", 1, "locked"),
    ("!$y$", 74, "locked"),
    ("*", 1, "locked"),
    ("", 0, "empty"),
    ("abcd", 13, "descrypt"),
    ("$9$x", 20, "unknown ($9$)"),
])
def test_hash_scheme_from_the_field_head(head, length, scheme):
    assert parsers.hash_scheme(head, length) == scheme
    assert (scheme in parsers.WEAK_SCHEMES) == (scheme in ("md5crypt", "descrypt", "empty"))


def test_pam_unix_password_options():
    debian = ("# here are the per-package modules (the \"Primary\" block)\n"
              "password\t[success=1 default=ignore]\tpam_unix.so obscure yescrypt\n"
              "password\trequisite\t\t\tpam_deny.so\n")
    assert parsers.pam_unix_password_options(debian) == ["obscure", "yescrypt"]
    assert parsers.pam_unix_password_options(
        "password required pam_unix.so md5 # old\n") == ["md5"]
    assert parsers.pam_unix_password_options("auth required pam_unix.so\n") is None
