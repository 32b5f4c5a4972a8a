"""Lab host logic that needs neither root nor a booted host."""

from __future__ import annotations

import ipaddress
import json
import signal
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from jitsi_sovereign.errors import UserError
from jitsi_sovereign.lab import cgroups, config, core, files, host, image, mirror, proxy
from jitsi_sovereign.lab.supervise import REBOOT_EXIT, Supervisor
from jitsi_sovereign.lab.util import mounts_under

DEFAULT_ENV: dict[str, str] = {}
DEV_ENV = {"JSOV_LAB_DIR": "/srv/lab", "JSOV_LAB_BRIDGE": "jsovdev",
           "JSOV_LAB_SUBNET": "198.51.100.128/25", "JSOV_LAB_CACHE": "/srv/cache"}


# ---------------------------------------------------------------- settings, addresses


def test_defaults():
    cfg = config.from_env(env=DEFAULT_ENV)
    assert cfg.state_dir == Path("/var/lib/jitsi-sovereign/lab")
    assert cfg.cache_dir == Path("/var/cache/jitsi-sovereign/images")
    assert cfg.bridge == "jsov0"
    assert str(cfg.gateway) == "198.51.100.1"
    assert cfg.proxy_url == "http://198.51.100.1:3142"
    addrs = cfg.host_addresses()
    assert str(addrs[0]) == "198.51.100.11"
    assert str(addrs[-1]) == "198.51.100.126"  # .127 is the broadcast address


def test_env_overrides_and_explicit_dir():
    cfg = config.from_env(env=DEV_ENV)
    assert (cfg.state_dir, cfg.cache_dir, cfg.bridge) == (Path("/srv/lab"), Path("/srv/cache"),
                                                          "jsovdev")
    assert str(cfg.gateway) == "198.51.100.129"
    assert str(cfg.host_addresses()[0]) == "198.51.100.139"
    assert config.from_env(Path("/tmp/x"), env=DEV_ENV).state_dir == Path("/tmp/x")


@pytest.mark.parametrize(("key", "value", "needle"), [
    ("JSOV_LAB_SUBNET", "198.51.100.1/25", "not an IPv4 network"),  # host bits set
    ("JSOV_LAB_SUBNET", "fd00::/64", "not an IPv4 network"),
    ("JSOV_LAB_SUBNET", "198.51.100.0/29", "too small"),
    ("JSOV_LAB_BRIDGE", "a-bridge-name-too-long", "not a valid interface name"),
    ("JSOV_LAB_BRIDGE", "br 0", "not a valid interface name"),
])
def test_bad_settings_are_user_errors(key, value, needle):
    with pytest.raises(UserError, match=needle) as err:
        config.from_env(env={key: value})
    assert err.value.fix


def test_allocate_keeps_known_and_fills_lowest_free():
    cfg = config.from_env(env=DEFAULT_ENV)
    taken = {"mol13-1": "198.51.100.11", "lab2": "198.51.100.13"}
    got = config.allocate(["lab1", "lab2", "lab3"], taken, cfg)
    assert got == {"lab1": "198.51.100.12", "lab2": "198.51.100.13", "lab3": "198.51.100.14"}


def test_allocate_refuses_when_the_subnet_is_full():
    cfg = config.from_env(env={"JSOV_LAB_SUBNET": "198.51.100.0/28"})
    assert [str(a) for a in cfg.host_addresses()] == ["198.51.100.11", "198.51.100.12",
                                                      "198.51.100.13", "198.51.100.14"]
    names = [f"h{i}" for i in range(1, 6)]
    with pytest.raises(UserError, match="no address left"):
        config.allocate(names, {}, cfg)


def test_host_names_and_bad_prefix():
    assert config.host_names("mol13-", 2) == ["mol13-1", "mol13-2"]
    for prefix in ("Lab", "1lab", "lab_", "a" * 40):
        with pytest.raises(UserError, match="not valid"):
            config.host_names(prefix, 1)
    with pytest.raises(UserError):
        config.host_names("lab", 0)


MACHINE_ADDRS = [("lo", "127.0.0.1/8"), ("eth0", "192.0.2.2/24")]
MACHINE_ROUTES = [("eth0", "default"), ("eth0", "192.0.2.0/24"), ("lo", "127.0.0.0/8"),
                  ("eth0", "192.0.2.2")]


def test_free_subnet_has_no_overlap():
    net = ipaddress.IPv4Network("198.51.100.0/25")
    assert config.overlaps(net, "jsov0", MACHINE_ADDRS, MACHINE_ROUTES) == []


def test_our_own_bridge_does_not_count_but_another_lab_does():
    net = ipaddress.IPv4Network("198.51.100.0/25")
    ours = [("jsov0", "198.51.100.1/25")]
    routes = [("jsov0", "198.51.100.0/25")]
    assert config.overlaps(net, "jsov0", MACHINE_ADDRS + ours, MACHINE_ROUTES + routes) == []
    found = config.overlaps(net, "jsovdev", MACHINE_ADDRS + ours, MACHINE_ROUTES + routes)
    assert found == ["address 198.51.100.1/25 on jsov0", "route 198.51.100.0/25 on jsov0"]


def test_overlapping_address_or_route_is_reported():
    net = ipaddress.IPv4Network("192.0.2.0/25")
    found = config.overlaps(net, "jsov0", MACHINE_ADDRS, MACHINE_ROUTES)
    assert "address 192.0.2.2/24 on eth0" in found
    assert "route 192.0.2.0/24 on eth0" in found
    vpn = [("tun0", "198.51.100.64/26")]
    assert config.overlaps(ipaddress.IPv4Network("198.51.100.0/25"), "jsov0", [], vpn) == [
        "route 198.51.100.64/26 on tun0"]


def test_check_subnet_free_raises_with_fix(monkeypatch):
    from jitsi_sovereign.lab import net

    monkeypatch.setattr(net, "machine_addresses", lambda: [("wg0", "198.51.100.7/24")])
    monkeypatch.setattr(net, "machine_routes", lambda: [])
    with pytest.raises(UserError, match="already used on this machine") as err:
        net.check_subnet_free(config.from_env(env=DEFAULT_ENV))
    assert "JSOV_LAB_SUBNET" in err.value.fix


# ---------------------------------------------------------------- mirror detection

DEB822 = """\
Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://ftp.fr.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://src.example/debian
Suites: bookworm

Types: deb
URIs: http://security.example/debian-security
Suites: bookworm-security
Components: main
"""


def test_parse_deb822():
    sources = mirror.parse_deb822(DEB822)
    assert [s.uri for s in sources] == ["http://ftp.fr.debian.org/debian",
                                        "http://security.example/debian-security"]
    assert sources[0].suites == ("bookworm", "bookworm-updates")
    assert mirror.choose(sources) == mirror.Mirrors("http://ftp.fr.debian.org/debian",
                                                    "http://security.example/debian-security")


def test_parse_one_line_with_options():
    text = ("# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian/ "
            "trixie main\ndeb-src http://x/debian trixie main\n"
            "deb http://security.debian.org/debian-security trixie-security main\n")
    sources = mirror.parse_one_line(text)
    assert sources == [mirror.Source("http://mirror.example/debian/", ("trixie",)),
                       mirror.Source("http://security.debian.org/debian-security",
                                     ("trixie-security",))]
    assert mirror.choose(sources).archive == "http://mirror.example/debian"


def test_https_and_foreign_repositories_fall_back_to_deb_debian_org():
    sources = [mirror.Source("https://deb.debian.org/debian", ("trixie",)),
               mirror.Source("http://packages.cloud.google.com/apt", ("cloud-sdk",))]
    assert mirror.choose(sources) == mirror.Mirrors()
    assert mirror.Mirrors().archive == "http://deb.debian.org/debian"


def test_detect_reads_sources_d_and_ignores_disabled_files(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "other.sources.disabled").write_text(
        "Types: deb\nURIs: http://wrong.example/debian\nSuites: trixie\n")
    (tmp_path / "sources.list.d" / "debian.sources").write_text(DEB822)
    assert mirror.detect(tmp_path).archive == "http://ftp.fr.debian.org/debian"
    assert mirror.detect(tmp_path / "nowhere") == mirror.Mirrors()


def test_image_sources_have_updates_and_security():
    text = image.sources_text("trixie", mirror.Mirrors())
    assert "Suites: trixie trixie-updates\n" in text
    assert "URIs: http://deb.debian.org/debian-security\nSuites: trixie-security\n" in text


def test_only_debian_13_and_12():
    assert image.codename("13") == "trixie" and image.codename("12") == "bookworm"
    with pytest.raises(UserError, match="unsupported Debian release") as err:
        image.codename("11")
    assert "--debian 13" in err.value.fix


# ---------------------------------------------------------------- files the lab writes


def test_known_hosts_replaces_only_that_address():
    old = ("198.51.100.11 ssh-ed25519 AAAAold\n"
           "198.51.100.111 ssh-ed25519 AAAAkeep\n"
           "other.example,198.51.100.11 ssh-rsa AAAAold2\n"
           "[198.51.100.11]:22 ssh-ed25519 AAAAold3\n")
    new = files.known_hosts_with(old, "198.51.100.11", "ssh-ed25519 AAAAnew root@lab1\n")
    assert new == "198.51.100.111 ssh-ed25519 AAAAkeep\n198.51.100.11 ssh-ed25519 AAAAnew\n"
    assert files.known_hosts_with("", "198.51.100.12", "ssh-ed25519 K c") == (
        "198.51.100.12 ssh-ed25519 K\n")
    assert files.known_hosts_without(new, {"198.51.100.11"}) == (
        "198.51.100.111 ssh-ed25519 AAAAkeep\n")
    assert files.known_hosts_without(new, {"198.51.100.11", "198.51.100.111"}) == ""


def test_ssh_argv():
    argv = files.ssh_argv("198.51.100.11", Path("/l/ssh/id_ed25519"), Path("/l/known_hosts"))
    assert argv == ["ssh", "-i", "/l/ssh/id_ed25519", "-o", "UserKnownHostsFile=/l/known_hosts",
                    "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes",
                    "debian@198.51.100.11"]


def test_inventory_is_valid_yaml_with_group_meet():
    text = files.inventory_text({"lab2": "198.51.100.12", "lab1": "198.51.100.11"},
                                Path("/l/ssh/id_ed25519"), Path("/l/known_hosts"))
    data = yaml.safe_load(text)
    meet = data["all"]["children"]["meet"]
    assert meet["hosts"] == {"lab1": {"ansible_host": "198.51.100.11"},
                             "lab2": {"ansible_host": "198.51.100.12"}}
    assert meet["vars"] == {
        "ansible_user": "debian", "ansible_port": 22,
        "ansible_ssh_private_key_file": "/l/ssh/id_ed25519", "ansible_become": True,
        "ansible_ssh_common_args": "-o UserKnownHostsFile=/l/known_hosts "
                                   "-o StrictHostKeyChecking=yes -o IdentitiesOnly=yes",
        "os_hardening_unattended_upgrades_timers": False,
    }
    lines = text.splitlines()
    at = lines.index("        os_hardening_unattended_upgrades_timers: false")
    assert "dpkg lock" in lines[at - 1] and lines[at - 1].strip().startswith("#")


def test_inventory_names_the_lab_password_file():
    """verify finds the lab password through the inventory (a file lookup), never by
    importing the lab: the value stays in the host's 0600 file."""
    text = files.inventory_text({"lab1": "198.51.100.11"}, Path("/k"), Path("/kh"),
                                hosts_dir=Path("/l/hosts"))
    group = yaml.safe_load(text)["all"]["children"]["meet"]["vars"]
    assert group[files.LAB_PASSWORD_VAR] == (
        "{{ lookup('ansible.builtin.file', '/l/hosts/' ~ inventory_hostname ~ '/password') }}")
    lines = text.splitlines()
    at = next(i for i, ln in enumerate(lines) if ln.strip().startswith(files.LAB_PASSWORD_VAR))
    assert "password is refused" in lines[at - 1]


def test_inventory_loads_in_ansible(tmp_path):
    pytest.importorskip("ansible")
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader

    path = tmp_path / "inventory.yml"
    path.write_text(files.inventory_text({"lab1": "198.51.100.11"}, Path("/k"), Path("/kh")))
    inv = InventoryManager(loader=DataLoader(), sources=[str(path)])
    lab1 = inv.get_host("lab1")
    assert [g.name for g in lab1.get_groups() if g.name != "all"] == ["meet"]
    assert lab1.get_vars()["ansible_host"] == "198.51.100.11"
    empty = tmp_path / "empty.yml"
    empty.write_text(files.inventory_text({}, Path("/k"), Path("/kh")))
    assert InventoryManager(loader=DataLoader(), sources=[str(empty)]).get_hosts() == []


def test_network_unit_is_static_without_link_local():
    text = files.network_unit("198.51.100.11", 25, "198.51.100.1")
    assert "Name=host0" in text
    assert "Address=198.51.100.11/25\nGateway=198.51.100.1\n" in text
    assert "LinkLocalAddressing=no" in text and "DNS" not in text


def test_shadow_and_hosts():
    shadow = "root:*:20000:0:99999:7:::\ndebian:!:20780:0:99999:7:::\n"
    out = files.shadow_with_password(shadow, "debian", "$6$salt$hash")
    assert out == "root:*:20000:0:99999:7:::\ndebian:$6$salt$hash:20780:0:99999:7:::\n"
    with pytest.raises(ValueError):
        files.shadow_with_password(shadow, "nobody", "x")
    hosts = files.hosts_file("127.0.0.1\tlocalhost\n127.0.1.1\told\n::1 localhost\n", "lab1")
    assert hosts == "127.0.0.1\tlocalhost\n127.0.1.1\tlab1\n::1 localhost\n"


def test_proxy_is_plain_and_bound_to_the_gateway():
    cfg = config.from_env(env=DEV_ENV)
    text = proxy.conf_text(cfg)
    assert "BindAddress: 198.51.100.129\n" in text and "Port: 3142\n" in text
    assert "Remap" not in text.replace("No Remap", "")
    assert "CacheDir: /srv/lab/apt-proxy/cache\n" in text
    assert proxy.argv(cfg) == ["/usr/sbin/apt-cacher-ng", "-c", "/srv/lab/apt-proxy/conf",
                               "ForeGround=1"]
    assert files.apt_proxy_conf(cfg.proxy_url).endswith(
        'Acquire::http::Proxy "http://198.51.100.129:3142";\n')


def test_nspawn_and_supervisor_argv_carry_the_marker():
    cfg = config.from_env(env=DEV_ENV)
    h = host.HostDir(cfg, "lab1")
    meta = host.HostMeta("lab1", "198.51.100.139", "13", "/img", host.new_marker(cfg, "lab1"))
    assert meta.marker.startswith(host.lab_id(cfg) + ".lab1.")
    argv = host.nspawn_argv(h, meta)
    for flag in ("--register=no", "--keep-unit", "--boot", "--network-bridge=jsovdev",
                 "--resolv-conf=off", "--link-journal=no", "--console=read-only",
                 f"--setenv=JSOV_LAB_MARKER={meta.marker}"):
        assert flag in argv
    assert argv[argv.index("-D") + 1] == "/srv/lab/hosts/lab1/root"
    assert argv[argv.index("-M") + 1] == "lab1"
    sup = host.supervisor_argv(h, meta)
    assert sup[1:3] == ["-m", "jitsi_sovereign.lab.supervise"]
    assert sup[sup.index("--") + 1:] == argv
    assert host.lab_id(cfg) != host.lab_id(config.from_env(env=DEFAULT_ENV))


# ---------------------------------------------------------------- Lab without root


def _fake_host(state: Path, name: str, address: str, password: str | None = None) -> None:
    d = state / "hosts" / name
    d.mkdir(parents=True)
    (d / "meta.json").write_text(json.dumps({"name": name, "address": address, "debian": "13",
                                             "image": "/img", "marker": "m"}))
    if password:
        (d / "password").write_text(password + "\n")


def test_lab_ssh_argv_and_password_from_the_state_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("JSOV_LAB_DIR", raising=False)
    _fake_host(tmp_path, "lab1", "198.51.100.11", "s3cret")
    _fake_host(tmp_path, "lab2", "198.51.100.12")
    lab = core.Lab(tmp_path)
    assert lab.inventory_path == tmp_path / "inventory.yml"
    assert lab.ssh_argv("lab1")[-1] == "debian@198.51.100.11"
    assert lab.ssh_argv("lab1")[2] == str(tmp_path / "ssh" / "id_ed25519")
    assert lab.password("lab1") == "s3cret"
    with pytest.raises(UserError, match=r"no lab host named 'nope' \(known: lab1, lab2\)"):
        lab.ssh_argv("nope")
    with pytest.raises(UserError, match="known: lab1, lab2"):
        lab.password("../lab1")
    with pytest.raises(UserError, match="no stored password"):
        lab.password("lab2")
    rows = lab.status()
    assert [(r["name"], r["address"], r["state"], r["pid"]) for r in rows] == [
        ("lab1", "198.51.100.11", "stale", None), ("lab2", "198.51.100.12", "stale", None)]


def test_lab_host_as_dict():
    h = core.LabHost("lab1", "198.51.100.11", "13", Path("/l/k"), Path("/l/kh"))
    assert h.as_dict() == {"name": "lab1", "address": "198.51.100.11", "debian": "13",
                           "user": "debian", "port": 22, "identity_file": "/l/k",
                           "known_hosts": "/l/kh", "reused": False, "kind": "nspawn"}


def test_not_root_is_a_user_error(monkeypatch):
    monkeypatch.setattr(core.os, "geteuid", lambda: 1000)
    with pytest.raises(UserError, match="need root") as err:
        core.check_preconditions()
    assert err.value.fix.startswith("run as root: sudo")


def test_missing_tool_names_its_package(monkeypatch):
    monkeypatch.setattr(core.os, "geteuid", lambda: 0)
    monkeypatch.setattr(core.shutil, "which",
                        lambda tool, path=None: None if tool == "debootstrap" else "/bin/x")
    with pytest.raises(UserError, match="debootstrap is not installed") as err:
        core.check_preconditions()
    assert err.value.fix == "apt-get install debootstrap"


def test_up_validates_before_touching_anything(tmp_path, monkeypatch):
    monkeypatch.setattr(core, "check_preconditions", lambda: pytest.fail("checked too late"))
    lab = core.Lab(tmp_path / "lab")
    with pytest.raises(UserError, match="unsupported Debian release"):
        lab.up(debian="11")
    with pytest.raises(UserError, match="not valid"):
        lab.up(prefix="Bad")
    assert not (tmp_path / "lab").exists()


# ---------------------------------------------------------------- mounts, cgroups

MOUNTINFO = """\
22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
90 22 0:50 / /var/lib/lab/hosts/lab1/root rw,relatime - overlay jsov-lab1 rw,lowerdir=/i
91 22 0:51 / /var/lib/lab/hosts/lab10/root rw,relatime - overlay jsov-lab10 rw,lowerdir=/i
92 90 0:52 / /var/lib/lab/hosts/lab1/root/with\\040space rw - tmpfs tmpfs rw
30 22 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw
31 30 0:27 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
32 30 0:28 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
33 30 0:29 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
"""


def test_mounts_under_is_exact_and_deepest_first():
    got = mounts_under(Path("/var/lib/lab/hosts/lab1"), MOUNTINFO)
    assert got == [Path("/var/lib/lab/hosts/lab1/root/with space"),
                   Path("/var/lib/lab/hosts/lab1/root")]


def test_cgroup_hierarchies():
    proc = "9:name=systemd:/\n4:memory:/process_api/x\n0::/\n"
    assert cgroups.hierarchies(MOUNTINFO, proc) == [(Path("/sys/fs/cgroup/systemd"), "/"),
                                                    (Path("/sys/fs/cgroup/unified"), "/")]
    pure_v2 = "25 22 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
    assert cgroups.hierarchies(pure_v2, "0::/system.slice/x.service\n") == [
        (Path("/sys/fs/cgroup"), "/system.slice/x.service")]


# ---------------------------------------------------------------- supervisor


def test_supervisor_restarts_on_reboot_exit_and_stops_on_other(tmp_path):
    count = tmp_path / "count"
    script = (f"import pathlib,sys; p=pathlib.Path({str(count)!r}); "
              "n=int(p.read_text()) if p.exists() else 0; p.write_text(str(n+1)); "
              f"sys.exit({REBOOT_EXIT} if n < 2 else 7)")
    sup = Supervisor([sys.executable, "-c", script], tmp_path / "nspawn.pid")
    assert sup.run() == 7
    assert count.read_text() == "3"
    assert not (tmp_path / "nspawn.pid").exists()


def test_supervisor_forwards_sigterm_and_does_not_restart(tmp_path):
    child = ("import signal,sys,time; "
             "signal.signal(signal.SIGTERM, lambda *a: sys.exit(0)); "
             "open(sys.argv[1], 'w').close(); time.sleep(60)")
    ready = tmp_path / "ready"
    sup = Supervisor([sys.executable, "-c", child, str(ready)], tmp_path / "nspawn.pid")

    def stop_when_ready() -> None:
        deadline = time.monotonic() + 10
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        sup.on_signal(signal.SIGTERM, None)

    thread = threading.Thread(target=stop_when_ready)
    thread.start()
    start = time.monotonic()
    assert sup.run() == 0  # the child's handler ran: it got SIGTERM, not SIGKILL
    thread.join()
    assert time.monotonic() - start < 10


def test_plan_reuses_requested_leftovers_keeps_stopped_and_removes_stale(tmp_path,
                                                                          monkeypatch):
    img = image.Image("13", "trixie", Path("/img"))
    _fake_host(tmp_path, "lab1", "198.51.100.11")  # stale leftover, asked for: reused
    _fake_host(tmp_path, "zzz1", "198.51.100.12")  # stale leftover, not asked for: removed
    _fake_host(tmp_path, "old1", "198.51.100.13")  # powered off on purpose: kept
    for name in ("lab1", "old1"):
        (tmp_path / "hosts" / name / "prepared").touch()
    (tmp_path / "hosts" / "old1" / "exit").write_text("0\n")
    lab = core.Lab(tmp_path, log=lambda msg: None)
    metas = lab._plan(["lab1", "lab2"], "13", img)
    assert [(m.name, m.address) for m in metas] == [("lab1", "198.51.100.11"),
                                                    ("lab2", "198.51.100.12")]
    assert metas[0].marker == "m"  # the leftover keeps its identity (and disk)
    assert metas[1].marker.startswith(host.lab_id(lab.config) + ".lab2.")
    assert sorted(p.name for p in (tmp_path / "hosts").iterdir()) == ["lab1", "old1"]
    assert lab.status()[1]["state"] == "stopped"
    monkeypatch.setattr(host.HostDir, "state", lambda self: "running")
    with pytest.raises(UserError, match="lab host lab1 runs Debian 13, not 12"):
        lab._plan(["lab1"], "12", image.Image("12", "bookworm", Path("/img12")))
    # A meta.json written before apt_lists existed reads as the image's lists.
    assert host.HostDir(lab.config, "lab1").meta().apt_lists == "image"
    with pytest.raises(UserError, match="started with --apt-lists image, not removed") as err:
        lab._plan(["lab1"], "13", img, "removed")
    assert "lab down lab1" in err.value.fix
    with pytest.raises(UserError, match="started with --var-log-mb 0, not 64") as err:
        lab._plan(["lab1"], "13", img, "image", var_log_mb=64)
    assert "lab down lab1" in err.value.fix


def test_up_refuses_an_unknown_apt_lists_state_before_anything(tmp_path, monkeypatch):
    monkeypatch.setattr(core, "check_preconditions", lambda: pytest.fail("checked too late"))
    with pytest.raises(UserError, match="--apt-lists stale: unknown state") as err:
        core.Lab(tmp_path / "lab").up(apt_lists="stale")
    assert err.value.fix == "use one of: image, removed"
    assert not (tmp_path / "lab").exists()


def test_removed_apt_lists_look_like_a_fresh_cloud_image(tmp_path):
    """No index, no stamp, no binary cache, and a directory modified now: the state in which
    ansible.builtin.apt's cache_valid_time alone would trust an empty cache."""
    lists = tmp_path / "var/lib/apt/lists"
    (lists / "partial").mkdir(parents=True)
    for name in ("deb.debian.org_debian_dists_trixie_main_binary-amd64_Packages",
                 "deb.debian.org_debian_dists_trixie_InRelease", "lock"):
        (lists / name).write_text("x")
    stamp = tmp_path / "var/lib/apt/periodic/update-success-stamp"
    stamp.parent.mkdir(parents=True)
    stamp.write_text("")
    cache = tmp_path / "var/cache/apt"
    cache.mkdir(parents=True)
    (cache / "pkgcache.bin").write_text("x")
    (cache / "archives").mkdir()
    old = time.time() - 86400
    import os

    os.utime(lists, (old, old))
    host.clear_apt_lists(tmp_path)
    assert sorted(p.name for p in lists.iterdir()) == ["lock", "partial"]
    assert not stamp.exists() and not (cache / "pkgcache.bin").exists()
    assert (cache / "archives").is_dir()
    assert time.time() - lists.stat().st_mtime < 60


def test_a_cached_image_is_reused_and_said_so(tmp_path):
    path = image.image_dir(tmp_path, "13")
    (path / "rootfs" / "usr").mkdir(parents=True)
    (path / "image.json").write_text(json.dumps({"built": "2026-12-04T21:51:19Z"}))
    said = []
    found = image.ensure(tmp_path, "13", log=said.append)
    assert found.root == path / "rootfs"
    assert said == [f"Debian 13 image: reusing {path} (built 2026-12-04T21:51:19Z)"]


def test_own_var_log_is_bound_at_var_log_and_sized_in_range(tmp_path, monkeypatch):
    """--var-log-mb: nspawn binds the host's own /var/log filesystem; 0 binds nothing; a
    size out of range is refused before anything, naming the range."""
    cfg = config.from_env(env=DEV_ENV)
    h = host.HostDir(cfg, "lab1")
    meta = host.HostMeta("lab1", "198.51.100.139", "13", "/img", "m")
    assert not [a for a in host.nspawn_argv(h, meta) if a.startswith("--bind")]
    monkeypatch.setattr(host.HostDir, "var_log_mb", lambda self: 64)
    assert "--bind=/srv/lab/hosts/lab1/var-log:/var/log" in host.nspawn_argv(h, meta)
    monkeypatch.setattr(core, "check_preconditions", lambda: pytest.fail("checked too late"))
    for size in (8, 2048, -1):
        with pytest.raises(UserError, match=f"--var-log-mb {size}: out of range") as err:
            core.Lab(tmp_path / "lab").up(var_log_mb=size)
        assert err.value.fix == "use 0 (/var/log on the root filesystem) or 16 to 1024 MiB"
    assert not (tmp_path / "lab").exists()
    # A host started without the option: no own /var/log, and no file saying so.
    monkeypatch.undo()
    _fake_host(tmp_path, "lab1", "198.51.100.11")
    h = host.HostDir(core.Lab(tmp_path).config, "lab1")
    h.save_var_log_mb(0)
    assert h.var_log_mb() == 0 and not (h.path / "var-log-mb").exists()
    h.save_var_log_mb(64)
    assert h.var_log_mb() == 64


def test_meta_written_by_a_newer_lab_is_read_not_taken_for_a_leftover(tmp_path):
    """A field this version does not know (a newer lab wrote meta.json) is ignored: the
    host keeps its metadata, so `lab up` does not remove it as a leftover."""
    _fake_host(tmp_path, "lab1", "198.51.100.11")
    path = tmp_path / "hosts/lab1/meta.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "from_the_future": 1}))
    meta = host.HostDir(core.Lab(tmp_path).config, "lab1").meta()
    assert meta is not None and meta.address == "198.51.100.11"
    path.write_text("[]")
    assert host.HostDir(core.Lab(tmp_path).config, "lab1").meta() is None


def test_own_var_log_made_once_with_the_images_log_then_only_mounted(tmp_path, monkeypatch):
    """First boot: a sparse image of the size, ext4 without root reserve, loop-mounted,
    the image's /var/log copied in; later boots mount the same image (nothing copied)."""
    cfg = config.from_env(env={"JSOV_LAB_DIR": str(tmp_path)})
    h = host.HostDir(cfg, "lab1")
    (h.root / "var/log").mkdir(parents=True)
    h.path.mkdir(parents=True, exist_ok=True)
    h.save_var_log_mb(32)
    calls = []

    def fake_run(argv, **kw):
        calls.append(argv)
        if argv[0] == "mount":
            (h.var_log / "lost+found").mkdir()

    monkeypatch.setattr(host, "run", fake_run)
    monkeypatch.setattr(host, "mounts_under", lambda path: [])
    host.mount_var_log(h)
    img = h.path / "var-log.img"
    assert img.stat().st_size == 32 * 1024 * 1024
    assert img.stat().st_blocks == 0  # sparse: the lab machine's disk holds what is written
    assert [c[0] for c in calls] == ["mkfs.ext4", "mount", "cp"]
    assert calls[0][:6] == ["mkfs.ext4", "-q", "-F", "-m", "0", "-L"]
    assert calls[1] == ["mount", "-o", "loop,nodev,nosuid,noexec", str(img), str(h.var_log)]
    assert calls[2] == ["cp", "-a", f"{h.root / 'var/log'}/.", str(h.var_log)]
    assert not (h.var_log / "lost+found").exists()
    calls.clear()
    host.mount_var_log(h)
    assert [c[0] for c in calls] == ["mount"]
    calls.clear()
    monkeypatch.setattr(host, "mounts_under", lambda path: [path])  # mounted already
    host.mount_var_log(h)
    monkeypatch.setattr(host, "mounts_under", lambda path: [])
    (h.path / "var-log-mb").unlink()  # a host without its own /var/log
    host.mount_var_log(h)
    assert calls == []
