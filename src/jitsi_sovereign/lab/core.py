"""The Lab: start, list and stop lab hosts, and write their inventory."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from jitsi_sovereign.errors import UserError
from jitsi_sovereign.lab import acme, files, image, net, proxy, vm
from jitsi_sovereign.lab import config as cfg_mod
from jitsi_sovereign.lab.host import (
    APT_LISTS_STATES,
    KINDS,
    HostDir,
    HostMeta,
    HostOptions,
    check_var_log_mb,
    console_tail,
    find_container_inits,
    finish_stop,
    lab_id,
    mount_overlay,
    mount_var_log,
    new_marker,
    prepare,
    remove,
    request_stop,
    start,
    stop_processes,
    wait_ssh,
)
from jitsi_sovereign.lab.util import locked, read_text, run, unmount_all, write_file

SSH_TIMEOUT = 90.0
TOOLS = {
    "systemd-nspawn": "apt-get install systemd-container",
    "debootstrap": "apt-get install debootstrap",
    "apt-cacher-ng": "apt-get install apt-cacher-ng",
    "ssh-keygen": "apt-get install openssh-client",
    "ip": "apt-get install iproute2",
    "nft": "apt-get install nftables",
    "openssl": "apt-get install openssl",
    "mount": "apt-get install mount",
    "pebble": "apt-get install pebble",
    "pebble-challtestsrv": "apt-get install pebble",
}
# The lab inventory gives each host its domain <name>.lab.test and the group the tls
# variables of the lab's ACME server (so site.yml deploys tls and nginx there).
ACME_IN_INVENTORY = True
DEFAULT_OPTIONS = HostOptions()  # a container host that gets the meeting's domain


@dataclass
class LabHost:
    """A running lab host and how to reach it."""

    name: str
    address: str
    debian: str
    identity_file: Path
    known_hosts: Path
    user: str = files.LAB_USER
    port: int = 22
    reused: bool = False  # already running before this `up`
    kind: str = "nspawn"

    def as_dict(self) -> dict:
        """JSON-ready form (paths as strings)."""
        return {"name": self.name, "address": self.address, "debian": self.debian,
                "user": self.user, "port": self.port, "identity_file": str(self.identity_file),
                "known_hosts": str(self.known_hosts), "reused": self.reused,
                "kind": self.kind}


class Lab:
    """Lab hosts in systemd-nspawn on a private bridge, with their own apt proxy."""

    def __init__(self, state_dir: Path | None = None, log=None) -> None:
        self.config = cfg_mod.from_env(state_dir)
        self.dir = self.config.state_dir
        self.inventory_path = self.dir / "inventory.yml"
        self.known_hosts = self.dir / "known_hosts"
        self.identity_file = self.dir / "ssh" / "id_ed25519"
        self.log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))

    # ------------------------------------------------------------------ queries
    def _host(self, name: str) -> HostDir:
        """The host's dir: a ``vm.VmDir`` for a VM host."""
        path = self.dir / "hosts" / name
        return vm.VmDir(self.config, name) if vm.is_vm(path) else HostDir(self.config, name)

    def _host_dirs(self) -> list[HostDir]:
        base = self.dir / "hosts"
        if not base.is_dir():
            return []
        return [self._host(p.name) for p in sorted(base.iterdir()) if p.is_dir()]

    def _lab_host(self, meta: HostMeta, kind: str = "nspawn") -> LabHost:
        return LabHost(meta.name, meta.address, meta.debian, self.identity_file,
                       self.known_hosts, kind=kind)

    def status(self) -> list[dict]:
        """Every host the lab knows: name, kind, address, debian, state, pid (nspawn's or
        qemu's)."""
        rows = []
        for host in self._host_dirs():
            meta = host.meta()
            rows.append({"name": host.name, "kind": host.options().kind,
                         "address": meta.address if meta else "",
                         "debian": meta.debian if meta else "", "state": host.state(),
                         "pid": host.pid(), "supervisor": host.supervisor_pid()})
        return rows

    def acme_status(self) -> dict:
        """The lab's ACME server (pebble + its mock DNS): directory URL, state, pids."""
        return acme.status(self.config)

    def proxy_status(self) -> dict:
        """The lab's apt proxy: address, state, pid."""
        pid = proxy.running_pid(self.config)
        return {"name": "apt-proxy", "address": self.config.proxy_url,
                "state": "running" if pid else "stopped", "pid": pid}

    def _known(self, name: str) -> HostMeta:
        meta = self._host(name).meta() if cfg_mod._NAME_RE.match(name) else None
        if meta is None:
            names = ", ".join(h.name for h in self._host_dirs()) or "none"
            raise UserError(f"no lab host named {name!r} (known: {names})",
                            "start one with: jitsi-sovereign lab up")
        return meta

    def ssh_argv(self, name: str) -> list[str]:
        """``ssh`` argv to log in to host ``name`` as the lab user."""
        meta = self._known(name)
        return files.ssh_argv(meta.address, self.identity_file, self.known_hosts)

    def password(self, name: str) -> str:
        """The lab-only password of the lab user on host ``name``."""
        self._known(name)
        password = self._host(name).password()
        if not password:
            raise UserError(f"lab host {name} has no stored password",
                            f"recreate it: jitsi-sovereign lab down {name} && "
                            "jitsi-sovereign lab up")
        return password

    def _can_log_in(self, name: str) -> bool:
        """True once the lab user logs in with the lab key (and the host key checks out)."""
        argv = self.ssh_argv(name)
        argv[1:1] = ["-o", "BatchMode=yes", "-o", "ConnectTimeout=3", "-o", "LogLevel=ERROR"]
        try:
            return run([*argv, "true"], check=False, timeout=15).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    # ------------------------------------------------------------------ up
    def up(self, count: int = 1, debian: str = "13", prefix: str = "lab",
           apt_lists: str = "image", kind: str = "nspawn",
           base_only: bool = False, var_log_mb: int = 0) -> list[LabHost]:
        """Start hosts ``prefix1..prefixN`` (running ones are reused); wait for SSH.

        ``apt_lists``: the new hosts' package lists (host.APT_LISTS_STATES): the image's,
        or removed like a fresh cloud image's. ``kind``: nspawn (a container) or vm (a
        qemu VM, ``lab.vm``). ``base_only``: the inventory gives the hosts no domain.
        ``var_log_mb``: a /var/log filesystem of its own of this size (MiB), 0 for none
        (host.check_var_log_mb), containers only."""
        image.codename(debian)
        names = cfg_mod.host_names(prefix, count)
        if apt_lists not in APT_LISTS_STATES:
            raise UserError(f"--apt-lists {apt_lists}: unknown state",
                            f"use one of: {', '.join(APT_LISTS_STATES)}")
        if kind not in KINDS:
            raise UserError(f"--kind {kind}: unknown kind of lab host",
                            f"use one of: {', '.join(KINDS)}")
        if kind == "vm" and apt_lists != "image":
            raise UserError("--apt-lists removed is for container hosts only",
                            "leave --apt-lists out with --kind vm")
        options = HostOptions(kind=kind, base_only=base_only)
        check_var_log_mb(var_log_mb)
        if kind == "vm" and var_log_mb:
            raise UserError("--var-log-mb is for container hosts only",
                            "leave --var-log-mb out with --kind vm")
        check_preconditions(kind)
        net.check_subnet_free(self.config)
        if kind == "vm":
            img = vm.ensure(self.config.cache_dir, debian, log=self.log)
        else:
            img = image.ensure(self.config.cache_dir, debian, log=self.log)
        with locked(self.dir / "lock"):
            self.dir.mkdir(parents=True, exist_ok=True)
            self._ensure_lab_key()
            net.ensure_bridge(self.config)
            proxy.start(self.config)
            if acme.start(self.config) and self._running():
                self.log("the lab ACME server started again with a new issuing root: "
                         "certificates the running hosts got earlier no longer verify "
                         "against it; recreate those hosts, or renew their certificates "
                         "(certbot renew --force-renewal)")
            metas = self._plan(names, debian, img, apt_lists, options, var_log_mb)
            reused = set()
            for meta in metas:
                if self._host(meta.name).supervisor_pid():
                    reused.add(meta.name)  # the callers say so (LabHost.reused)
                else:
                    self._boot(self._host(meta.name), meta, img, options, var_log_mb)
            timeout = vm.SSH_TIMEOUT if kind == "vm" else SSH_TIMEOUT
            late = wait_ssh({m.name: (m.address, self._host(m.name)) for m in metas},
                            timeout, self._can_log_in)
            acme.register(self._running())
            self._write_inventory()
            if late:
                host = self._host(late[0])
                raise UserError(f"lab host {late[0]} did not accept an SSH login in "
                                f"{timeout:.0f} s "
                                f"(state {host.state()}); console:\n{console_tail(host)}",
                                f"see {host.path / 'console.log'}, then "
                                f"jitsi-sovereign lab down {late[0]}")
        return [replace(self._lab_host(m, kind), reused=m.name in reused) for m in metas]

    def _plan(self, names: list[str], debian: str, img: image.Image | vm.VmImage,
              apt_lists: str = "image", options: HostOptions = DEFAULT_OPTIONS,
              var_log_mb: int = 0) -> list[HostMeta]:
        """Metadata of each requested host: reuse running ones, clean up leftovers."""
        taken: dict[str, str] = {}
        img_path = img.path if isinstance(img, vm.VmImage) else img.root
        for host in self._host_dirs():
            meta, state = host.meta(), host.state()
            same_kind = host.options() == options
            if meta and state == "stopped" and host.name not in names:
                taken[host.name] = meta.address  # powered off on purpose: keep it
            elif meta and state == "running":
                if host.name in names and meta.debian != debian:
                    raise UserError(
                        f"lab host {host.name} runs Debian {meta.debian}, not {debian}",
                        f"stop it first (jitsi-sovereign lab down {host.name}) or use "
                        "another --prefix")
                if host.name in names and meta.apt_lists != apt_lists:
                    raise UserError(
                        f"lab host {host.name} started with --apt-lists {meta.apt_lists}, "
                        f"not {apt_lists}",
                        f"stop it first (jitsi-sovereign lab down {host.name}) or use "
                        "another --prefix")
                if host.name in names and not same_kind:
                    was = host.options()
                    raise UserError(
                        f"lab host {host.name} runs as --kind {was.kind}"
                        f"{' --base-only' if was.base_only else ''}, not --kind "
                        f"{options.kind}{' --base-only' if options.base_only else ''}",
                        f"stop it first (jitsi-sovereign lab down {host.name}) or use "
                        "another --prefix")
                if host.name in names and host.var_log_mb() != var_log_mb:
                    raise UserError(
                        f"lab host {host.name} started with --var-log-mb {host.var_log_mb()}, "
                        f"not {var_log_mb}",
                        f"stop it first (jitsi-sovereign lab down {host.name}) or use "
                        "another --prefix")
                taken[host.name] = meta.address
            elif meta and host.prepared() and host.name in names and meta.debian == debian \
                    and Path(meta.image) == img_path and meta.apt_lists == apt_lists \
                    and same_kind and host.var_log_mb() == var_log_mb:
                self._cleanup(host)  # a leftover: boot it again on its own disk
                taken[host.name] = meta.address
            else:
                self.log(f"removing leftover lab host {host.name} ({state})")
                self._cleanup(host)
                remove(host)
        addresses = cfg_mod.allocate(names, taken, self.config)
        metas = []
        for name in names:
            meta = self._host(name).meta()
            if meta is None:
                meta = HostMeta(name, addresses[name], debian, str(img_path),
                                new_marker(self.config, name), apt_lists)
            metas.append(meta)
        return metas

    def _cleanup(self, host: HostDir) -> None:
        """End whatever is left of a host's processes and unmount its root."""
        if isinstance(host, vm.VmDir):
            vm.stop(host)
        else:
            stop_processes(host)
        unmount_all(host.path)

    def _boot(self, host: HostDir, meta: HostMeta, img: image.Image | vm.VmImage,
              options: HostOptions = DEFAULT_OPTIONS, var_log_mb: int = 0) -> None:
        if isinstance(img, vm.VmImage):
            host.path.mkdir(parents=True, exist_ok=True)
            host.save_options(options)
            public = (self.identity_file.with_suffix(".pub")).read_text()
            vm.boot(vm.VmDir(self.config, host.name), meta, img, public, self.known_hosts)
            return
        fresh = not host.prepared()
        if fresh:
            host.path.mkdir(parents=True, exist_ok=True)
            host.save_meta(meta)
            if options != DEFAULT_OPTIONS:
                host.save_options(options)
            host.save_var_log_mb(var_log_mb)
        mount_overlay(host, img.root)
        mount_var_log(host)  # before prepare: the copy of /var/log is the image's
        if fresh:
            public = (self.identity_file.with_suffix(".pub")).read_text()
            prepare(host, meta, public, self.known_hosts)
        start(host, meta)

    def _ensure_lab_key(self) -> None:
        if self.identity_file.is_file():
            return
        self.identity_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "jitsi-sovereign-lab",
             "-f", str(self.identity_file)])
        os.chmod(self.identity_file, 0o600)

    def _running(self) -> dict[str, str]:
        """Running hosts: name -> address."""
        running = {}
        for host in self._host_dirs():
            meta = host.meta()
            if meta and host.state() == "running":
                running[meta.name] = meta.address
        return running

    def _write_inventory(self) -> None:
        with_acme = ACME_IN_INVENTORY and acme.pebble_pid(self.config) is not None
        base_only = frozenset(h.name for h in self._host_dirs() if h.options().base_only)
        write_file(self.inventory_path,
                   files.inventory_text(self._running(), self.identity_file, self.known_hosts,
                                        acme=acme.info(self.config) if with_acme else None,
                                        hosts_dir=self.dir / "hosts", base_only=base_only))

    # ------------------------------------------------------------------ down
    def down(self, names: list[str] | None = None) -> list[str]:
        """Stop hosts (None: all); with none left, stop the helpers, remove the bridge."""
        check_root()
        if not self.dir.is_dir():
            return []
        with locked(self.dir / "lock"):
            hosts = self._host_dirs()
            if names is not None:
                hosts = [h for h in hosts if h.name in set(names)]
            waits = {host.name: _request_stop(host) for host in hosts}  # all halt at once
            stopped = []
            for host in hosts:
                meta = host.meta()
                _finish_stop(host, waits[host.name])
                remove(host)
                # Its generated secrets (TURN secret, component passwords) die with it: a
                # new host of the same name gets its own.
                shutil.rmtree(files.secrets_dir(self.dir, host.name), ignore_errors=True)
                if meta:
                    self._forget_address(meta.address)
                stopped.append(host.name)
            if names is None:
                self._kill_orphans()
            for problem in acme.unregister(self.config, stopped):
                self.log(f"lab ACME DNS: {problem}")
            if not self._host_dirs():
                acme.stop(self.config)
                proxy.stop(self.config)
                net.delete_bridge(self.config)
            self._write_inventory()
        return stopped

    def _forget_address(self, address: str) -> None:
        text = read_text(self.known_hosts)
        if text is not None:
            write_file(self.known_hosts, files.known_hosts_without(text, {address}))

    def _kill_orphans(self) -> None:
        """SIGKILL container PID 1s of this lab whose host dir is gone (marker proves it)."""
        prefix = lab_id(self.config) + "."
        for pid, marker in find_container_inits(lambda m: m.startswith(prefix)):
            self.log(f"ending orphaned lab container {marker} (pid {pid})")
            os.kill(pid, signal.SIGKILL)
        vm.kill_orphans(self.config, self.log)
        deadline = time.monotonic() + 5
        while find_container_inits(lambda m: m.startswith(prefix)) and \
                time.monotonic() < deadline:
            time.sleep(0.05)


def check_root() -> None:
    """UserError unless running as root."""
    if os.geteuid() != 0:
        argv = " ".join(["sudo", *sys.argv]) if sys.argv else "sudo jitsi-sovereign lab ..."
        raise UserError("lab hosts need root (systemd-nspawn, bridges, overlay mounts)",
                        f"run as root: {argv}")


def _request_stop(host: HostDir) -> list[int]:
    return vm.request_stop(host) if isinstance(host, vm.VmDir) else request_stop(host)


def _finish_stop(host: HostDir, pids: list[int]) -> None:
    if isinstance(host, vm.VmDir):
        vm.finish_stop(host, pids)
    else:
        finish_stop(host, pids)


def check_preconditions(kind: str = "nspawn") -> None:
    """Root, the tools, and overlayfs: each missing one is a UserError with its fix."""
    check_root()
    tools = {**TOOLS, **vm.TOOLS} if kind == "vm" else TOOLS
    for tool, fix in tools.items():
        if not (shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin")):
            raise UserError(f"{tool} is not installed (lab hosts need it)", fix)
    if "overlay" not in (read_text(Path("/proc/filesystems")) or ""):
        run(["modprobe", "overlay"], check=False)
        if "overlay" not in (read_text(Path("/proc/filesystems")) or ""):
            raise UserError("this kernel has no overlayfs (lab host roots are overlay mounts)",
                            "load it: modprobe overlay (or use a kernel with CONFIG_OVERLAY_FS)")
