"""VM lab hosts (lab.vm): what needs neither root nor qemu running."""

from __future__ import annotations

import json
import signal
import socket
import threading
from pathlib import Path

import pytest
import yaml

from jitsi_sovereign.errors import UserError
from jitsi_sovereign.lab import acme, config, core, files, host, vm

DEV_ENV = {"JSOV_LAB_DIR": "/srv/lab", "JSOV_LAB_BRIDGE": "jsovdev",
           "JSOV_LAB_SUBNET": "198.51.100.128/25", "JSOV_LAB_CACHE": "/srv/cache"}


def _meta(name="vm1", address="198.51.100.139") -> host.HostMeta:
    return host.HostMeta(name, address, "13", "/srv/cache/trixie-v2-vm1", "jsov-x.vm1.ab")


def _spec(cfg, name="vm1") -> vm.VmSpec:
    return vm.spec_for(cfg, name, vm.VmImage("13", Path("/srv/cache/trixie-v2-vm1")))


# ---------------------------------------------------------------- the qemu command


def test_qemu_argv_is_a_tcg_vm_on_the_lab_bridge():
    cfg = config.from_env(env=DEV_ENV)
    h = vm.VmDir(cfg, "vm1")
    argv = vm.qemu_argv(h, _meta(), _spec(cfg))

    def value(flag: str) -> str:
        return argv[argv.index(flag) + 1]

    assert argv[0] == "qemu-system-x86_64"
    assert value("-accel") == "tcg,tb-size=256"  # KVM cannot boot Debian here; 1 GiB cache off
    assert (value("-cpu"), value("-machine"), value("-m"), value("-smp")) == (
        "max", "q35", "1024", "2")
    assert value("-kernel") == "/srv/cache/trixie-v2-vm1/vmlinuz"
    assert value("-initrd") == "/srv/cache/trixie-v2-vm1/initrd.img"
    assert value("-append") == "root=/dev/vda rw console=ttyS0 systemd.hostname=vm1"
    drives = [argv[i + 1] for i, a in enumerate(argv) if a == "-drive"]
    assert drives == [
        "file=/srv/lab/hosts/vm1/disk.qcow2,if=virtio,format=qcow2,discard=unmap",
        "file=/srv/lab/hosts/vm1/seed.img,if=virtio,format=raw,readonly=on"]
    tap = vm.tap_name(cfg, "vm1")
    assert value("-netdev") == f"tap,id=net0,ifname={tap},script=no,downscript=no"
    assert value("-device") == f"virtio-net-pci,netdev=net0,mac={vm.mac_address(cfg, 'vm1')}"
    assert value("-chardev") == ("file,id=serial0,path=/srv/lab/hosts/vm1/console.log,"
                                 "append=on")
    assert value("-serial") == "chardev:serial0"
    assert value("-monitor") == "unix:/srv/lab/hosts/vm1/monitor.sock,server=on,wait=off"
    assert "-daemonize" not in argv  # the supervisor runs it in the foreground
    assert "-enable-kvm" not in argv


def test_the_supervisor_runs_qemu_with_its_pid_file():
    cfg = config.from_env(env=DEV_ENV)
    h = vm.VmDir(cfg, "vm1")
    child = vm.qemu_argv(h, _meta(), _spec(cfg))
    sup = host.supervisor_argv(h, _meta(), child, vm.PID_NAME)
    assert sup[sup.index("--pid-file") + 1] == "/srv/lab/hosts/vm1/qemu.pid"
    assert sup[sup.index("--marker") + 1] == "jsov-x.vm1.ab"
    assert sup[sup.index("--") + 1:] == child


def test_tap_and_mac_are_stable_short_and_distinct():
    cfg = config.from_env(env=DEV_ENV)
    other_lab = config.from_env(env={**DEV_ENV, "JSOV_LAB_DIR": "/srv/other"})
    taps = {vm.tap_name(cfg, "vm1"), vm.tap_name(cfg, "vm2"), vm.tap_name(other_lab, "vm1")}
    assert len(taps) == 3
    for tap in taps:
        assert tap.startswith(vm.TAP_PREFIX) and len(tap) <= 15  # IFNAMSIZ - 1
    assert vm.tap_name(cfg, "a-very-long-lab-host-name-of-31c") == vm.tap_name(
        cfg, "a-very-long-lab-host-name-of-31c")
    macs = {vm.mac_address(cfg, "vm1"), vm.mac_address(cfg, "vm2")}
    assert len(macs) == 2
    for mac in macs:
        assert mac.startswith("52:54:00:") and len(mac.split(":")) == 6


def test_seed_files_give_the_vm_its_address_on_the_bridge():
    cfg = config.from_env(env=DEV_ENV)
    seed = vm.seed_files(_meta(), cfg)
    assert seed["etc/hostname"] == "vm1\n"
    assert "127.0.1.1\tvm1" in seed["etc/hosts"].splitlines()
    unit = seed["etc/systemd/network/10-lab.network"]
    assert "Name=en*\n" in unit  # the VM's virtio NIC (enp0s1), not nspawn's host0
    assert "Address=198.51.100.139/25\n" in unit and "Gateway=198.51.100.129\n" in unit
    assert "LinkLocalAddressing=no" in unit
    assert 'Acquire::http::Proxy "http://198.51.100.129:3142";' in \
        seed["etc/apt/apt.conf.d/01lab-proxy"]


def test_image_paths_and_cache_lookup(tmp_path):
    assert vm.image_dir(Path("/c"), "13") == Path("/c/trixie-v2-vm1")
    assert vm.image_dir(Path("/c"), "12") == Path("/c/bookworm-v2-vm1")
    with pytest.raises(UserError, match="unsupported Debian release"):
        vm.image_dir(Path("/c"), "11")
    assert vm.find(tmp_path, "13") is None
    d = vm.image_dir(tmp_path, "13")
    d.mkdir()
    for name in ("base.qcow2", "vmlinuz", "initrd.img"):
        (d / name).write_text("x")
    assert vm.find(tmp_path, "13") is None  # no image.json: an unfinished build
    (d / "image.json").write_text("{}")
    found = vm.find(tmp_path, "13")
    assert found and found.disk == d / "base.qcow2" and found.kernel == d / "vmlinuz"


def test_prepare_root_adds_fstab_and_the_first_boot_seed_unit(tmp_path):
    vm.prepare_root(tmp_path)
    assert "/dev/vda / ext4" in (tmp_path / "etc/fstab").read_text()
    script = tmp_path / vm.SEED_SCRIPT_PATH
    assert script.stat().st_mode & 0o777 == 0o755
    text = script.read_text()
    assert f"LABEL={vm.SEED_LABEL}" in text and "usermod -p" in text
    assert "/home/debian/.ssh/authorized_keys" in text
    unit = (tmp_path / "etc/systemd/system" / vm.SEED_UNIT).read_text()
    assert f"ConditionPathExists=!{vm.SEED_DONE}" in unit  # first boot only
    assert "Before=sysinit.target systemd-networkd.service ssh.service" in unit
    link = tmp_path / "etc/systemd/system/sysinit.target.wants" / vm.SEED_UNIT
    assert link.is_symlink() and str(link.readlink()) == f"/etc/systemd/system/{vm.SEED_UNIT}"
    vm.prepare_root(tmp_path)  # a second run (a retried build) replaces the link
    assert link.is_symlink()


# ---------------------------------------------------------------- the lab's view of a VM


def _fake_vm(state: Path, name: str, address: str, base_only: bool = True) -> Path:
    d = state / "hosts" / name
    d.mkdir(parents=True)
    (d / "meta.json").write_text(json.dumps({"name": name, "address": address, "debian": "13",
                                             "image": "/img", "marker": "m"}))
    (d / "options.json").write_text(json.dumps({"kind": "vm", "base_only": base_only}))
    (d / "vm.json").write_text(json.dumps({"image": "/img", "tap": "jsovvm-00000000",
                                           "mac": "52:54:00:00:00:01"}))
    return d


def test_a_vm_host_dir_is_seen_as_a_vm(tmp_path, monkeypatch):
    monkeypatch.delenv("JSOV_LAB_DIR", raising=False)
    _fake_vm(tmp_path, "vm1", "198.51.100.11")
    (tmp_path / "hosts/lab2").mkdir()
    (tmp_path / "hosts/lab2/meta.json").write_text(json.dumps(
        {"name": "lab2", "address": "198.51.100.12", "debian": "13", "image": "/i",
         "marker": "m2"}))
    lab = core.Lab(tmp_path)
    assert isinstance(lab._host("vm1"), vm.VmDir)
    assert not isinstance(lab._host("lab2"), vm.VmDir)
    rows = {r["name"]: r for r in lab.status()}
    assert (rows["vm1"]["kind"], rows["vm1"]["state"], rows["vm1"]["pid"]) == ("vm", "stale",
                                                                               None)
    assert rows["lab2"]["kind"] == "nspawn"
    assert lab.ssh_argv("vm1")[-1] == "debian@198.51.100.11"


def test_meta_json_keeps_the_fields_older_lab_code_reads(tmp_path):
    """A lab shared with older code (one lab dir, several checkouts): meta.json of a VM has
    exactly HostMeta's fields, or the older code would take the VM for a broken leftover
    and delete its dir while qemu runs."""
    cfg = config.from_env(env={"JSOV_LAB_DIR": str(tmp_path)})
    h = vm.VmDir(cfg, "vm1")
    h.save_meta(_meta())
    h.save_options(host.HostOptions(kind="vm", base_only=True))
    assert set(json.loads((h.path / "meta.json").read_text())) == {
        "name", "address", "debian", "image", "marker", "apt_lists"}
    assert h.options() == host.HostOptions(kind="vm", base_only=True)
    (h.path / "options.json").write_text("{not json")
    assert h.options() == host.HostOptions()


def test_vm_state_running_stopped_stale(tmp_path, monkeypatch):
    d = _fake_vm(tmp_path, "vm1", "198.51.100.11")
    h = vm.VmDir(config.from_env(env={"JSOV_LAB_DIR": str(tmp_path)}), "vm1")
    assert h.state() == "stale"
    (d / "prepared").write_text("")
    (d / "exit").write_text("0\n")
    assert h.state() == "stale"  # no disk: nothing to boot again
    (d / "disk.qcow2").write_text("")
    assert h.state() == "stopped"  # powered off from inside: `up` boots it again
    monkeypatch.setattr(vm.VmDir, "qemu_pid", lambda self: 4242)
    assert h.state() == "running"
    assert h.pid() == 4242


def test_addresses_of_vms_and_containers_come_from_one_plan(tmp_path, monkeypatch):
    """A VM host keeps its address while it runs; a new host gets the next free one."""
    _fake_vm(tmp_path, "vm1", "198.51.100.11")
    monkeypatch.setattr(vm.VmDir, "supervisor_pid", lambda self: 4242)
    lab = core.Lab(tmp_path)
    img = vm.VmImage("13", Path("/img"))
    metas = lab._plan(["vm1", "vm2"], "13", img, options=host.HostOptions("vm", True))
    assert [(m.name, m.address) for m in metas] == [("vm1", "198.51.100.11"),
                                                   ("vm2", "198.51.100.12")]
    with pytest.raises(UserError, match="runs as --kind vm --base-only, not --kind nspawn"):
        lab._plan(["vm1"], "13", img, options=host.HostOptions())


def test_inventory_of_a_base_only_host_has_no_domain():
    cfg = config.from_env(env=DEV_ENV)
    text = files.inventory_text({"vm1": "198.51.100.139", "lab1": "198.51.100.140"},
                                Path("/k"), Path("/kh"), acme=acme.info(cfg),
                                base_only=frozenset({"vm1"}))
    hosts = yaml.safe_load(text)["all"]["children"]["meet"]["hosts"]
    assert hosts["vm1"] == {"ansible_host": "198.51.100.139"}
    assert hosts["lab1"]["jitsi_sovereign_domain"] == "lab1.lab.test"


def test_up_refuses_an_unknown_kind_before_touching_anything(tmp_path, monkeypatch):
    monkeypatch.setattr(core, "check_preconditions", lambda kind: pytest.fail("checked too late"))
    lab = core.Lab(tmp_path / "lab")
    with pytest.raises(UserError, match="--kind docker: unknown") as err:
        lab.up(kind="docker")
    assert err.value.fix == "use one of: nspawn, vm"
    with pytest.raises(UserError, match="container hosts only"):
        lab.up(kind="vm", apt_lists="removed")
    assert not (tmp_path / "lab").exists()


def test_qemu_tools_are_required_for_vms_only(monkeypatch):
    monkeypatch.setattr(core.os, "geteuid", lambda: 0)
    monkeypatch.setattr(core.shutil, "which",
                        lambda tool, path=None: None if tool.startswith("qemu") else "/bin/x")
    core.check_preconditions("nspawn")
    with pytest.raises(UserError, match="qemu-system-x86_64 is not installed") as err:
        core.check_preconditions("vm")
    assert err.value.fix == "apt-get install qemu-system-x86"


# ---------------------------------------------------------------- finding qemu, stopping


def _fake_proc(root: Path, pid: int, argv: list[str]) -> None:
    (root / str(pid)).mkdir(parents=True)
    (root / str(pid) / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")


def test_find_qemus_by_their_monitor_under_the_lab_dir(tmp_path):
    cfg = config.from_env(env=DEV_ENV)
    proc = tmp_path / "proc"
    _fake_proc(proc, 100, vm.qemu_argv(vm.VmDir(cfg, "vm1"), _meta(), _spec(cfg)))
    other = config.from_env(env={**DEV_ENV, "JSOV_LAB_DIR": "/srv/other"})
    _fake_proc(proc, 101, vm.qemu_argv(vm.VmDir(other, "vm2"), _meta("vm2"), _spec(other)))
    _fake_proc(proc, 102, ["sleep", "unix:/srv/lab/hosts/vm3/monitor.sock,server=on,wait=off"])
    (proc / "self").mkdir()
    assert vm.find_qemus(cfg, proc) == {"vm1": 100}


def _stopping_vm(tmp_path, monkeypatch, alive: set[int]):
    """A VM dir whose supervisor (10) and qemu (11) stay in ``alive`` until killed."""
    d = _fake_vm(tmp_path, "vm1", "198.51.100.11")
    (d / "qemu.pid").write_text("11\n")
    (d / "supervise.pid").write_text("10\n")
    h = vm.VmDir(config.from_env(env={"JSOV_LAB_DIR": str(tmp_path)}), "vm1")
    kills: list[tuple[int, int]] = []
    commands: list[list[str]] = []

    def kill(pid, sig):  # the guest ignores the power button, qemu ignores nothing else
        kills.append((pid, sig))
        if sig == signal.SIGKILL:
            alive.discard(pid)

    monkeypatch.setattr(vm.os, "kill", kill)
    monkeypatch.setattr(vm.VmDir, "supervisor_pid", lambda self: 10 if 10 in alive else None)
    monkeypatch.setattr(vm.VmDir, "qemu_pid", lambda self: 11 if 11 in alive else None)
    monkeypatch.setattr(host, "wait_gone", lambda pids, timeout: not (set(pids) & alive))
    monkeypatch.setattr(host, "finish_stop", lambda hostdir, pids: None)
    monkeypatch.setattr(vm, "find_qemus", lambda cfg: {})
    monkeypatch.setattr(vm, "tap_exists", lambda tap: True)
    monkeypatch.setattr(vm, "run", lambda argv, **kw: commands.append(argv))
    return h, kills, commands


def test_stop_escalates_when_the_guest_does_not_power_off(tmp_path, monkeypatch):
    alive = {10, 11}
    h, kills, commands = _stopping_vm(tmp_path, monkeypatch, alive)
    monkeypatch.setattr(vm, "monitor_command", lambda path, cmd: "")
    vm.finish_stop(h, [10, 11], timeout=0)
    assert kills[0] == (10, signal.SIGTERM)
    assert set(kills[1:]) == {(11, signal.SIGKILL), (10, signal.SIGKILL)}
    assert ["ip", "link", "del", "dev", "jsovvm-00000000"] in commands
    assert not (h.path / "qemu.pid").exists()


def test_stop_after_a_crash_removes_the_leftover_tap(tmp_path, monkeypatch):
    h, kills, commands = _stopping_vm(tmp_path, monkeypatch, alive=set())
    monkeypatch.setattr(vm, "monitor_command",
                        lambda path, cmd: pytest.fail("no qemu: no monitor to ask"))
    vm.stop(h)
    assert kills == []
    assert commands == [["ip", "link", "del", "dev", "jsovvm-00000000"]]


def test_request_stop_presses_the_power_button(tmp_path, monkeypatch):
    h, _, _ = _stopping_vm(tmp_path, monkeypatch, alive={10, 11})
    sent = []
    monkeypatch.setattr(vm, "monitor_command", lambda path, cmd: sent.append((path, cmd)))
    assert vm.request_stop(h) == [10, 11]
    assert sent == [(h.path / "monitor.sock", "system_powerdown")]


def test_monitor_command_speaks_hmp(tmp_path):
    path = tmp_path / "m.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    got = []

    def serve():
        conn, _ = server.accept()
        with conn:
            conn.sendall(b"QEMU 7.2.22 monitor - type 'help' for more information\r\n(qemu) ")
            got.append(conn.recv(100))
            conn.sendall(b"system_powerdown\r\n(qemu) ")

    thread = threading.Thread(target=serve)
    thread.start()
    answer = vm.monitor_command(path, "system_powerdown", timeout=5)
    thread.join(5)
    server.close()
    assert got == [b"system_powerdown\n"]
    assert answer.endswith("(qemu) ")


def test_kill_orphans_ends_only_qemus_whose_host_dir_is_gone(tmp_path, monkeypatch):
    _fake_vm(tmp_path, "vm1", "198.51.100.11")
    cfg = config.from_env(env={"JSOV_LAB_DIR": str(tmp_path)})
    monkeypatch.setattr(vm, "find_qemus", lambda c: {"vm1": 100, "gone": 101})
    kills, taps = [], []
    monkeypatch.setattr(vm.os, "kill", lambda pid, sig: kills.append((pid, sig)))
    monkeypatch.setattr(host, "wait_gone", lambda pids, timeout: True)
    monkeypatch.setattr(vm, "delete_tap", taps.append)
    logs = []
    vm.kill_orphans(cfg, logs.append)
    assert kills == [(101, signal.SIGKILL)]
    assert taps == [vm.tap_name(cfg, "gone")]
    assert logs == ["ending orphaned lab VM gone (qemu pid 101)"]


def test_delete_tap_touches_only_lab_taps(monkeypatch):
    commands = []
    monkeypatch.setattr(vm, "tap_exists", lambda tap: True)
    monkeypatch.setattr(vm, "run", lambda argv, **kw: commands.append(argv))
    vm.delete_tap("eth0")
    vm.delete_tap("jsov0")
    vm.delete_tap("jsovvm-12345678")
    assert commands == [["ip", "link", "del", "dev", "jsovvm-12345678"]]
