"""How deploy's ssh reaches a host, as OpenSSH resolves it (ssh -G), for verify and users.

Every test gives ssh its own configuration file (-F), so the ~/.ssh/config of whoever runs
the tests plays no part.
"""

from __future__ import annotations

import getpass
import shutil
from pathlib import Path

import pytest

from jitsi_sovereign import sshroute

pytestmark = pytest.mark.skipif(shutil.which("ssh") is None, reason="needs OpenSSH's ssh")


@pytest.fixture
def config(tmp_path):
    """An ssh configuration file: write(text) -> its path."""
    path = tmp_path / "ssh_config"

    def write(text: str) -> str:
        path.write_text(text)
        return str(path)

    return write


@pytest.mark.parametrize(("spec", "expected"), [
    ("bastion", (None, "bastion", None)),
    ("ops@bastion:2222", ("ops", "bastion", 2222)),
    ("ssh://ops@bastion:2222", ("ops", "bastion", 2222)),
    ("ops@[2001:db8::1]:2200", ("ops", "2001:db8::1", 2200)),
    ("[2001:db8::1]", (None, "2001:db8::1", None)),
    ("2001:db8::1", (None, "2001:db8::1", None)),
    ("a@b@bastion", ("a@b", "bastion", None)),
])
def test_parse_jump(spec, expected):
    assert sshroute.parse_jump(spec) == expected


@pytest.mark.parametrize("spec", ["ops@bastion:ssh", "bastion:70000", "ops@"])
def test_parse_jump_refuses_nonsense(spec):
    with pytest.raises(sshroute.SshConfigError):
        sshroute.parse_jump(spec)


@pytest.mark.parametrize(("args", "expected"), [
    (["-o", "User=x", "-F", "/a"], "/a"),
    (["-F/a", "-F", "/b"], "/b"),  # the last one wins, as for ssh
    (["-C", "-o", "ProxyCommand=ssh -F /not-this -W %h:%p j"], None),  # inside an option
    (["-CF", "/a"], "/a"),  # flags grouped before F
    (["-i", "-F", "-o", "User=x"], None),  # "-F" is -i's argument here
])
def test_config_file_of_an_argv(args, expected):
    assert sshroute.config_file(args) == expected


def test_command_line_wins_over_the_config_file(config):
    cfg = config("Host meet\n  HostName 192.0.2.10\n  User fromconfig\n  Port 2200\n"
                 "  UserKnownHostsFile /srv/kh_%h\n")
    hop = sshroute.resolve("meet", ["-F", cfg, "-o", "Port=22", "-o", 'User="inv"'])
    assert (hop.hostname, hop.port, hop.user) == ("192.0.2.10", 22, "inv")
    assert hop.known_hosts[0] == Path("/srv/kh_192.0.2.10")  # tokens expanded by ssh
    assert hop.via is None and hop.proxy_command is None
    hop = sshroute.resolve("meet", ["-F", cfg])
    assert (hop.port, hop.user) == (2200, "fromconfig")  # the config, when nothing else says


def test_no_user_anywhere_is_the_local_user(config):
    """As for deploy: without ansible_user nor a User line, ssh logs in as the local user."""
    hop = sshroute.resolve("192.0.2.10", ["-F", config("")])
    assert hop.user == getpass.getuser()


def test_identity_files_from_the_config_with_tokens(config, tmp_path):
    key = tmp_path / "id_ops_meet"
    key.write_text("key\n")
    cfg = config(f"Host meet\n  IdentityFile {tmp_path}/id_%r_%n\n  IdentityFile {tmp_path}/gone\n"
                 "  IdentitiesOnly yes\n  IdentityAgent none\n")
    hop = sshroute.resolve("meet", ["-F", cfg, "-l", "ops"])
    assert hop.identity_files == (key,)  # the missing one left out, as ssh skips it
    assert hop.identities_only and not hop.use_agent


def test_proxyjump_chain_as_openssh_builds_it(config):
    """-J a,b: b is reached through a, and the host through b; each jump gets -F, -l, -p
    and the earlier jumps, but none of the first command line's -o options."""
    cfg = config("Host a\n  HostName 192.0.2.1\n  User ua\n  UserKnownHostsFile /srv/kh_a\n"
                 "Host b\n  HostName 192.0.2.2\n  Port 2202\n  ProxyJump nowhere\n"
                 "Host meet\n  HostName 10.0.0.5\n")
    hop = sshroute.resolve("meet", ["-F", cfg, "-o", "UserKnownHostsFile=/srv/kh_meet",
                                    "-J", "a,ops@b"])
    first, second, target = hop.chain()
    assert (target.hostname, target.known_hosts[0]) == ("10.0.0.5", Path("/srv/kh_meet"))
    assert (second.alias, second.hostname, second.port, second.user) == (
        "b", "192.0.2.2", 2202, "ops")  # -l from the jump spec, Port from the config
    assert (first.alias, first.hostname, first.user) == ("a", "192.0.2.1", "ua")
    # -J a given to b's ssh wins over b's own "ProxyJump nowhere"; the -o of the first
    # command line does not reach the jumps: their known_hosts come from the config.
    assert first.known_hosts[0] == Path("/srv/kh_a")
    assert second.known_hosts[0] != Path("/srv/kh_meet")
    assert sshroute.first_address(hop) == "192.0.2.1"


def test_proxyjump_from_the_config_and_from_o(config):
    cfg = config("Host meet\n  ProxyJump ops@bastion:2222\n")
    assert sshroute.resolve("meet", ["-F", cfg]).via.describe() == "ops@bastion:2222"
    hop = sshroute.resolve("meet", ["-F", cfg, "-o", "ProxyJump=none"])
    assert hop.via is None  # the command line wins, "none" turns it off
    hop = sshroute.resolve("other", ["-F", cfg, "-o", "ProxyJump=ssh://j1,j2:2200"])
    assert [h.alias for h in hop.chain()] == ["j1", "j2", "other"]


def test_proxycommand_tokens_expanded(config):
    cfg = config("Host meet\n  HostName 10.0.0.5\n  Port 2200\n  User ops\n"
                 "  ProxyCommand ssh -W %h:%p -l %r gw # %n %%\n")
    hop = sshroute.resolve("meet", ["-F", cfg])
    assert hop.proxy_command == "ssh -W 10.0.0.5:2200 -l ops gw # meet %"
    assert sshroute.first_address(hop) is None  # the command makes the first connection


def test_host_key_name():
    assert sshroute.Hop("a", "192.0.2.1").host_key_name == "192.0.2.1"
    assert sshroute.Hop("a", "192.0.2.1", port=2222).host_key_name == "[192.0.2.1]:2222"
    assert sshroute.Hop("a", "192.0.2.1", port=2222,
                        host_key_alias="meet").host_key_name == "meet"


def test_ssh_refusing_its_options_is_an_error(config):
    with pytest.raises(sshroute.SshConfigError, match=r"[Bb]ad|unsupported|[Uu]nknown"):
        sshroute.resolve("meet", ["-F", config(""), "-o", "NoSuchOption=yes"])
    with pytest.raises(sshroute.SshConfigError, match="Cannot specify -J with ProxyCommand"):
        sshroute.resolve("meet", ["-F", config(""), "-o", "ProxyCommand=nc %h %p", "-J", "b"])


def test_a_proxyjump_loop_is_named(config):
    cfg = config("Host a\n  ProxyJump b\nHost b\n  ProxyJump a\n")
    with pytest.raises(sshroute.SshConfigError, match="a loop in the ssh configuration"):
        sshroute.resolve("a", ["-F", cfg])


def test_missing_ssh_is_named():
    with pytest.raises(sshroute.SshConfigError, match="is not installed"):
        sshroute.ssh_g("/nonexistent/ssh", [], "meet")


@pytest.mark.parametrize(("line", "named"), [
    ("ProxyUseFdpass yes\n  ProxyCommand nc %h %p", "ProxyUseFdpass"),
    ("PKCS11Provider /usr/lib/opensc-pkcs11.so", "PKCS11Provider"),
    ("CertificateFile /srv/id-cert.pub", "CertificateFile"),
    ("IdentityAgent /run/other-agent.sock", "IdentityAgent"),
    ("KnownHostsCommand /usr/local/bin/keys %H", "KnownHostsCommand"),
    ("BindInterface eth1", "BindInterface"),
])
def test_refusals_name_the_option_and_a_fix(config, line, named):
    hop = sshroute.resolve("meet", ["-F", config(f"Host meet\n  {line}\n")])
    [(problem, fix)] = sshroute.refusals(hop)
    assert problem.startswith(named) and fix


def test_refusals_look_at_the_jump_hosts_too(config):
    cfg = config("Host bastion\n  PKCS11Provider /usr/lib/x.so\nHost meet\n  ProxyJump bastion\n")
    [(problem, _)] = sshroute.refusals(sshroute.resolve("meet", ["-F", cfg]))
    assert "bastion (a jump host)" in problem


def test_nothing_refused_for_plain_settings(config):
    cfg = config("Host meet\n  HostName 10.0.0.5\n  ProxyJump bastion\n  IdentityAgent none\n"
                 "  BindAddress 192.0.2.9\n  AddressFamily inet\n  HostKeyAlias meet\n")
    hop = sshroute.resolve("meet", ["-F", cfg])
    assert sshroute.refusals(hop) == []
    assert (hop.bind_address, hop.address_family, hop.host_key_alias) == (
        "192.0.2.9", "inet", "meet")
