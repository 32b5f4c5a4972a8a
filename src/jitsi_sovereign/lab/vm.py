"""Lab hosts that are real Debian VMs: qemu's software emulation (TCG) on the lab bridge.

What a container cannot show runs here for real: the VM has its own kernel (kernel
sysctls, auditd, the module blacklist, its own nftables) and a real reboot. KVM is not
usable on the machines this was measured on (their /dev/kvm is a paravirtual kvm_pvm
that cannot boot a stock Debian kernel: docs/design.md "Lab hosts"), so qemu emulates
the CPU: a first boot to SSH takes 25-45 s.

A VM host is a lab host like the others (``core.Lab``): the same host dir, address plan,
supervisor, known_hosts and inventory. Its own parts:

- the image (``ensure``): the lab's Debian image (``image.ensure``) plus the kernel and
  an initramfs, made into an ext4 disk without any loop mount (``mkfs.ext4 -d``, then
  ``qemu-img convert``), cached as ``<cache>/<codename>-v<image.RECIPE>-vm<RECIPE>/``
  with ``base.qcow2``, ``vmlinuz`` and ``initrd.img`` (direct kernel boot: qemu loads the
  kernel from the host file at every start and every guest reboot);
- per VM: a qcow2 overlay of that disk, and a small read-only seed disk with the VM's
  own files (host key, address, lab key, password hash), copied into place at its first
  boot by a unit of the image (``SEED_SCRIPT``); the machine-id is left empty in the
  image, so systemd makes a new one at first boot;
- qemu runs in the foreground under the lab's supervisor (``supervise``), so the lab
  sees it running as it sees an nspawn host; its network is a tap device that qemu
  makes (it disappears when qemu exits, crash included) and the lab attaches to the
  bridge: the VM has its own address there, as an nspawn host has;
- ``lab down``: ACPI power button through qemu's monitor, then SIGTERM/SIGKILL after
  ``STOP_TIMEOUT``; the tap device and the host dir go.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from jitsi_sovereign.errors import UserError
from jitsi_sovereign.lab import files, host, image
from jitsi_sovereign.lab.config import LabConfig
from jitsi_sovereign.lab.util import (
    cmdline,
    locked,
    pid_alive,
    read_pid,
    read_text,
    remove_tree,
    run,
    write_file,
)

QEMU = "qemu-system-x86_64"
TOOLS = {
    QEMU: "apt-get install qemu-system-x86",
    "qemu-img": "apt-get install qemu-utils",
    "mkfs.ext4": "apt-get install e2fsprogs",
}
# Bump when the recipe below changes: labs then build a new VM image.
RECIPE = 1
DISK_SIZE = "8G"  # virtual size of the VM's disk (sparse: the qcow2 holds only what is used)
SEED_SIZE = "16M"
SEED_LABEL = "jsovseed"
# Memory of a VM: 1 GiB. The base (sshd, auditd, nftables) uses ~170 MB of it; the rest
# is room for apt/dpkg and for the meeting's services when someone deploys them there
# (prosody, coturn, nginx). qemu itself then takes ~670 MB on the machine with the
# code cache below (measured).
MEMORY_MB = 1024
CPUS = 2
# TCG's translated-code cache: qemu's default of 1 GiB inflates its memory to ~1.9 GB;
# 256 MiB keeps it at ~670 MB with no measured loss of speed.
TB_SIZE_MB = 256
SSH_TIMEOUT = 300.0  # a first boot under emulation: 25-45 s alone, more beside busy hosts
STOP_TIMEOUT = 60.0  # a clean poweroff after the ACPI power button
KILL_TIMEOUT = 10.0
TAP_PREFIX = "jsovvm-"  # + 8 hex: 15 characters, the longest interface name
PID_NAME = "qemu.pid"
KERNEL_PACKAGES = ["linux-image-amd64"]

SEED_UNIT = "jsov-lab-seed.service"
SEED_SCRIPT_PATH = "usr/local/lib/jsov-lab/seed"
SEED_DONE = "/var/lib/jsov-lab/seeded"
SEED_SCRIPT = f"""#!/bin/sh
# jitsi-sovereign lab VM, first boot: this VM's own files, from its seed disk (made by
# the lab for this VM): host key, address, apt proxy, the lab key and the lab password.
set -eu
mnt=/run/jsov-lab-seed
mkdir -p "$mnt"
mount -o ro "LABEL={SEED_LABEL}" "$mnt"
cp -a --remove-destination "$mnt/files/." /
install -d -m 0700 -o {files.LAB_USER} -g {files.LAB_USER} /home/{files.LAB_USER}/.ssh
install -m 0600 -o {files.LAB_USER} -g {files.LAB_USER} "$mnt/authorized_keys" \\
    /home/{files.LAB_USER}/.ssh/authorized_keys
usermod -p "$(cat "$mnt/password.hash")" {files.LAB_USER}
umount "$mnt"
mkdir -p "$(dirname {SEED_DONE})"
touch {SEED_DONE}
"""
SEED_UNIT_TEXT = f"""[Unit]
Description=jitsi-sovereign lab VM: its own files from the seed disk (first boot)
DefaultDependencies=no
ConditionPathExists=!{SEED_DONE}
Requires=dev-disk-by\\x2dlabel-{SEED_LABEL}.device
After=dev-disk-by\\x2dlabel-{SEED_LABEL}.device local-fs.target
Before=sysinit.target systemd-networkd.service ssh.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/{SEED_SCRIPT_PATH}

[Install]
WantedBy=sysinit.target
"""
FSTAB = "# lab VM: the whole disk is the root filesystem (see kernel cmdline root=)\n" \
        "/dev/vda / ext4 rw,discard,errors=remount-ro 0 0\n"
HOSTS_BASE = ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
              "ff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")


# ------------------------------------------------------------------ the image


@dataclass(frozen=True)
class VmImage:
    """A ready VM image: its directory (what ``meta.json`` records as the host's image)."""

    debian: str
    path: Path

    @property
    def disk(self) -> Path:
        """The base disk (qcow2), backing file of every VM's own disk."""
        return self.path / "base.qcow2"

    @property
    def kernel(self) -> Path:
        return self.path / "vmlinuz"

    @property
    def initrd(self) -> Path:
        return self.path / "initrd.img"


def image_dir(cache: Path, debian: str) -> Path:
    """Where the VM image of this release lives in the cache (the container image's
    recipe is part of the name: the VM image is made from it)."""
    return cache / f"{image.codename(debian)}-v{image.RECIPE}-vm{RECIPE}"


def find(cache: Path, debian: str) -> VmImage | None:
    """The cached VM image if it is complete."""
    found = VmImage(debian, image_dir(cache, debian))
    if (found.path / "image.json").is_file() and all(
            p.is_file() for p in (found.disk, found.kernel, found.initrd)):
        return found
    return None


def ensure(cache: Path, debian: str, log=print) -> VmImage:
    """The cached VM image, built first if missing (from the container image, which is
    built first if missing too)."""
    name = image.codename(debian)
    base = image.ensure(cache, debian, log=log)
    with locked(cache / f".lock-{name}-vm"):
        found = find(cache, debian)
        if found:
            log(f"Debian {debian} VM image: reusing {found.path}")
            return found
        for stale in cache.glob(f".vmbuild-{name}-*"):
            log(f"removing an interrupted VM image build: {stale}")
            remove_tree(stale)
        tmp = cache / f".vmbuild-{name}-{os.getpid()}"
        start = time.monotonic()
        log(f"building the Debian {debian} VM image from {base.root} (once, about two "
            "minutes): kernel, initramfs, disk")
        try:
            tmp.mkdir()
            root = tmp / "rootfs"
            run(["cp", "-a", "--reflink=auto", str(base.root), str(root)])
            _install_kernel(root)
            prepare_root(root)
            _copy_boot_files(root, tmp)
            made = time.monotonic()
            make_ext4(root, tmp / "base.raw", DISK_SIZE, "root")
            run(["qemu-img", "convert", "-O", "qcow2", str(tmp / "base.raw"),
                 str(tmp / "base.qcow2")], timeout=1800)
            (tmp / "base.raw").unlink()
            remove_tree(root)
            meta = {"debian": debian, "codename": name, "recipe": RECIPE,
                    "from": str(base.root.parent),
                    "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "seconds": round(time.monotonic() - start, 1),
                    "disk_seconds": round(time.monotonic() - made, 1)}
            write_file(tmp / "image.json", json.dumps(meta, indent=2) + "\n")
            os.rename(tmp, image_dir(cache, debian))
        except BaseException:
            remove_tree(tmp)
            raise
        log(f"VM image ready in {time.monotonic() - start:.0f} s: {image_dir(cache, debian)}")
        return VmImage(debian, image_dir(cache, debian))


def _install_kernel(root: Path) -> None:
    # The stock initramfs (MODULES=most) has virtio_blk and virtio_net: nothing to add.
    image.nspawn_run(root, "apt-get", "update", "-q")
    image.nspawn_run(root, "apt-get", "-y", "-q", "install", *KERNEL_PACKAGES)
    image.nspawn_run(root, "apt-get", "clean")


def prepare_root(root: Path) -> None:
    """What a VM needs in the container image's tree: its fstab and the seed unit."""
    write_file(root / "etc/fstab", FSTAB)
    write_file(root / SEED_SCRIPT_PATH, SEED_SCRIPT, 0o755)
    write_file(root / "etc/systemd/system" / SEED_UNIT, SEED_UNIT_TEXT)
    wants = root / "etc/systemd/system/sysinit.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    (wants / SEED_UNIT).unlink(missing_ok=True)
    (wants / SEED_UNIT).symlink_to(f"/etc/systemd/system/{SEED_UNIT}")


def _copy_boot_files(root: Path, dest: Path) -> None:
    kernels = sorted((root / "boot").glob("vmlinuz-*"))
    initrds = sorted((root / "boot").glob("initrd.img-*"))
    if len(kernels) != 1 or len(initrds) != 1:
        raise UserError(f"the VM image build found kernels {[k.name for k in kernels]} and "
                        f"initramfs {[i.name for i in initrds]} in {root / 'boot'}, "
                        "wants one of each", f"remove {root.parent} and retry")
    shutil.copy2(kernels[0], dest / "vmlinuz")
    shutil.copy2(initrds[0], dest / "initrd.img")


def make_ext4(tree: Path, dest: Path, size: str, label: str) -> None:
    """An ext4 filesystem image holding ``tree``: no loop mount (mkfs.ext4 -d)."""
    run(["truncate", "-s", size, str(dest)])
    run(["mkfs.ext4", "-q", "-F", "-L", label, "-d", str(tree), str(dest)], timeout=1800)


# ------------------------------------------------------------------ one VM


@dataclass(frozen=True)
class VmSpec:
    """A VM's machine (``vm.json`` in its host dir)."""

    image: str  # the VmImage dir
    tap: str
    mac: str
    memory_mb: int = MEMORY_MB
    cpus: int = CPUS


def tap_name(config: LabConfig, name: str) -> str:
    """The VM's tap device: unique per lab dir and host, at most 15 characters."""
    digest = hashlib.sha256(f"{config.state_dir}\0{name}".encode()).hexdigest()
    return TAP_PREFIX + digest[:8]


def mac_address(config: LabConfig, name: str) -> str:
    """A stable, locally administered MAC for the VM (qemu's default is the same for all
    VMs: two on one bridge would clash)."""
    digest = hashlib.sha256(f"mac\0{config.state_dir}\0{name}".encode()).digest()
    return "52:54:00:" + ":".join(f"{b:02x}" for b in digest[:3])


def spec_for(config: LabConfig, name: str, img: VmImage) -> VmSpec:
    """The machine of a new VM host."""
    return VmSpec(str(img.path), tap_name(config, name), mac_address(config, name))


def kernel_cmdline(name: str) -> str:
    """Root on the first virtio disk, console on the serial port (console.log), the host
    name from the first boot on (the seed writes /etc/hostname for the next ones)."""
    return f"root=/dev/vda rw console=ttyS0 systemd.hostname={name}"


def qemu_argv(hostdir: host.HostDir, meta: host.HostMeta, spec: VmSpec) -> list[str]:
    """The qemu command of a VM host (in the foreground: the supervisor runs it)."""
    img = VmImage(meta.debian, Path(spec.image))
    path = hostdir.path
    return [
        QEMU, "-name", meta.name, "-nodefaults", "-no-user-config",
        "-accel", f"tcg,tb-size={TB_SIZE_MB}", "-cpu", "max", "-machine", "q35",
        "-smp", str(spec.cpus), "-m", str(spec.memory_mb),
        "-kernel", str(img.kernel), "-initrd", str(img.initrd),
        "-append", kernel_cmdline(meta.name),
        "-drive", f"file={path / 'disk.qcow2'},if=virtio,format=qcow2,discard=unmap",
        "-drive", f"file={path / 'seed.img'},if=virtio,format=raw,readonly=on",
        "-netdev", f"tap,id=net0,ifname={spec.tap},script=no,downscript=no",
        "-device", f"virtio-net-pci,netdev=net0,mac={spec.mac}",
        "-device", "virtio-rng-pci", "-display", "none",
        "-chardev", f"file,id=serial0,path={path / 'console.log'},append=on",
        "-serial", "chardev:serial0",
        "-monitor", f"unix:{monitor_path(hostdir)},server=on,wait=off",
    ]


def monitor_path(hostdir: host.HostDir) -> Path:
    """qemu's monitor (HMP) socket."""
    return hostdir.path / "monitor.sock"


def seed_files(meta: host.HostMeta, config: LabConfig) -> dict[str, str]:
    """The VM's own text files (path under / -> content), copied at its first boot."""
    return {
        "etc/hostname": f"{meta.name}\n",
        "etc/hosts": files.hosts_file(HOSTS_BASE, meta.name),
        "etc/resolv.conf": "# lab host: no DNS; apt goes through the lab proxy\n",
        "etc/systemd/network/10-lab.network": files.network_unit(
            meta.address, config.subnet.prefixlen, str(config.gateway), match="en*"),
        "etc/apt/apt.conf.d/01lab-proxy": files.apt_proxy_conf(config.proxy_url),
    }


class VmDir(host.HostDir):
    """A VM host's dir: the supervisor runs qemu (its pid in ``qemu.pid``)."""

    def spec(self) -> VmSpec | None:
        """The saved machine, None if missing or unreadable."""
        try:
            return VmSpec(**json.loads(read_text(self.path / "vm.json") or "null"))
        except (TypeError, ValueError):
            return None

    def save_spec(self, spec: VmSpec) -> None:
        write_file(self.path / "vm.json", json.dumps(asdict(spec), indent=2) + "\n")

    def qemu_pid(self) -> int | None:
        """The live qemu of this VM (its monitor socket is in this host dir)."""
        pid = read_pid(self.path / PID_NAME)
        return pid if pid and is_our_qemu(pid, self) else None

    def nspawn_pid(self) -> int | None:
        return None

    def pid(self) -> int | None:
        return self.qemu_pid()

    def state(self) -> str:
        """running | stopped (powered off from inside) | stale (leftover of a lost run)."""
        if self.supervisor_pid() or self.qemu_pid():
            return "running"
        if (self.path / "exit").is_file() and self.prepared():
            return "stopped"
        return "stale"

    def prepared(self) -> bool:
        return super().prepared() and (self.path / "disk.qcow2").is_file()


def is_our_qemu(pid: int, hostdir: host.HostDir) -> bool:
    """True if ``pid`` is a qemu whose monitor socket is this host dir's."""
    argv = cmdline(pid)
    return bool(argv) and argv[0].endswith(QEMU) and pid_alive(pid) and \
        f"unix:{monitor_path(hostdir)},server=on,wait=off" in argv


def find_qemus(config: LabConfig, proc: Path = Path("/proc")) -> dict[str, int]:
    """Every qemu of this lab, with or without a supervisor: host name -> pid (found by
    their monitor socket under ``<lab dir>/hosts/``)."""
    prefix = f"unix:{config.state_dir / 'hosts'}/"
    found = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = [a.decode(errors="replace")
                    for a in (entry / "cmdline").read_bytes().split(b"\0") if a]
        except OSError:
            continue
        if not argv or not argv[0].endswith(QEMU):
            continue
        for arg in argv:
            if arg.startswith(prefix) and arg.endswith("/monitor.sock,server=on,wait=off"):
                found[arg[len(prefix):].split("/", 1)[0]] = int(entry.name)
    return found


def is_vm(path: Path) -> bool:
    """True if the host dir at ``path`` is a VM's."""
    return (path / "vm.json").is_file()


def boot(hostdir: VmDir, meta: host.HostMeta, img: VmImage, public_key: str,
         known_hosts: Path) -> None:
    """First boot: the VM's disk and seed, then qemu under the supervisor; or boot an
    existing VM again on its own disk. (Its ``options.json`` is the caller's.)"""
    if not hostdir.prepared():
        hostdir.path.mkdir(parents=True, exist_ok=True)
        hostdir.save_meta(meta)
        hostdir.save_spec(spec_for(hostdir.config, meta.name, img))
        prepare(hostdir, meta, img, public_key, known_hosts)
    spec = hostdir.spec()
    if spec is None:
        raise UserError(f"lab VM {meta.name} has no readable vm.json",
                        f"jitsi-sovereign lab down {meta.name}, then lab up again")
    delete_tap(spec.tap)  # a leftover of a qemu that did not exit (killed with its tap)
    host.start(hostdir, meta, qemu_argv(hostdir, meta, spec), PID_NAME)
    attach_tap(hostdir, spec)


def prepare(hostdir: VmDir, meta: host.HostMeta, img: VmImage, public_key: str,
            known_hosts: Path) -> None:
    """The VM's own disk (an overlay of the image's) and its seed disk."""
    path = hostdir.path
    run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(img.disk), "-F", "qcow2",
         str(path / "disk.qcow2")])
    with tempfile.TemporaryDirectory(dir=path) as tmp:
        seed = Path(tmp)
        for rel, text in seed_files(meta, hostdir.config).items():
            write_file(seed / "files" / rel, text)
        public = host.host_key(hostdir, seed / "files")
        write_file(seed / "authorized_keys", public_key.strip() + "\n", 0o600)
        write_file(seed / "password.hash", host.new_password(hostdir) + "\n", 0o600)
        os.chmod(seed, 0o700)
        make_ext4(seed, path / "seed.img", SEED_SIZE, SEED_LABEL)
    os.chmod(path / "seed.img", 0o600)
    write_file(known_hosts, files.known_hosts_with(read_text(known_hosts) or "", meta.address,
                                                   public))
    write_file(path / "prepared", "")


def attach_tap(hostdir: VmDir, spec: VmSpec, timeout: float = 30.0) -> None:
    """Put qemu's tap device on the lab bridge once qemu has made it."""
    deadline = time.monotonic() + timeout
    while not tap_exists(spec.tap):
        if time.monotonic() > deadline or not hostdir.supervisor_pid():
            raise UserError(f"qemu of lab VM {hostdir.name} made no tap device {spec.tap}; "
                            f"console:\n{host.console_tail(hostdir)}",
                            f"see {hostdir.path / 'console.log'}, then "
                            f"jitsi-sovereign lab down {hostdir.name}")
        time.sleep(0.05)
    run(["ip", "link", "set", "dev", spec.tap, "master", hostdir.config.bridge])
    run(["ip", "link", "set", "dev", spec.tap, "alias", f"jsov lab VM {hostdir.name}"])
    run(["ip", "link", "set", "dev", spec.tap, "up"])


def tap_exists(tap: str) -> bool:
    return run(["ip", "link", "show", "dev", tap], check=False).returncode == 0


def delete_tap(tap: str) -> None:
    """Remove a tap device left behind (qemu's own goes with qemu)."""
    if tap.startswith(TAP_PREFIX) and tap_exists(tap):
        run(["ip", "link", "del", "dev", tap], check=False)


# ------------------------------------------------------------------ stop


def monitor_command(path: Path, command: str, timeout: float = 5.0) -> str:
    """Send one HMP command to qemu's monitor socket; its answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        _read_prompt(sock)
        sock.sendall(command.encode() + b"\n")
        return _read_prompt(sock)


def _read_prompt(sock: socket.socket) -> str:
    data = b""
    while not data.endswith(b"(qemu) "):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace")


def request_stop(hostdir: VmDir) -> list[int]:
    """Press the VM's power button (ACPI, through the monitor); the pids to wait for."""
    sup, qemu = hostdir.supervisor_pid(), hostdir.qemu_pid()
    if qemu:
        # no monitor: finish_stop ends qemu after its timeout
        with contextlib.suppress(OSError):
            monitor_command(monitor_path(hostdir), "system_powerdown")
    return [p for p in (sup, qemu) if p]


def finish_stop(hostdir: VmDir, pids: list[int], timeout: float = STOP_TIMEOUT) -> None:
    """Wait for the clean poweroff; then SIGTERM the supervisor (it passes it on to qemu),
    SIGKILL what is left (qemu can be killed: no orphan lives on); remove the tap."""
    if not host.wait_gone(pids, timeout):
        sup = hostdir.supervisor_pid()
        if sup:
            os.kill(sup, signal.SIGTERM)
        if not host.wait_gone(pids, KILL_TIMEOUT):
            for pid in (hostdir.qemu_pid(), hostdir.supervisor_pid()):
                if pid:
                    os.kill(pid, signal.SIGKILL)
            host.wait_gone(pids, KILL_TIMEOUT)
    # a qemu whose supervisor (and pid file) was lost
    orphan = find_qemus(hostdir.config).get(hostdir.name)
    if orphan:
        os.kill(orphan, signal.SIGKILL)
        host.wait_gone([orphan], KILL_TIMEOUT)
    host.finish_stop(hostdir, [])  # cgroups, pid files
    (hostdir.path / PID_NAME).unlink(missing_ok=True)
    spec = hostdir.spec()
    delete_tap(spec.tap if spec else tap_name(hostdir.config, hostdir.name))


def stop(hostdir: VmDir) -> None:
    """Stop the VM: power button, wait, then kill."""
    finish_stop(hostdir, request_stop(hostdir))


def kill_orphans(config: LabConfig, log) -> None:
    """SIGKILL qemus of this lab whose host dir is gone, and remove their tap devices."""
    for name, pid in find_qemus(config).items():
        if not (config.state_dir / "hosts" / name).is_dir():
            log(f"ending orphaned lab VM {name} (qemu pid {pid})")
            os.kill(pid, signal.SIGKILL)
            host.wait_gone([pid], KILL_TIMEOUT)
            delete_tap(tap_name(config, name))
