"""The cached base image: a debootstrapped Debian root, prepared once, shared by labs.

Layout: ``<cache>/<codename>-v<RECIPE>/rootfs`` plus ``image.json``. A build runs in
``<cache>/.build-<codename>-<pid>`` and is renamed into place only when complete, so
an interrupted build never leaves a half image behind.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from jitsi_sovereign.errors import UserError
from jitsi_sovereign.lab import mirror as mirror_mod
from jitsi_sovereign.lab.util import locked, remove_tree, run, write_file

RELEASES = {"13": "trixie", "12": "bookworm"}
# Bump when the recipe below changes: labs then build a new image (old hosts keep theirs).
# 2: the package lists of the build's own update stay (recipe 1 removed them, leaving an
#    empty directory with a recent mtime; see host.clear_apt_lists for that state).
RECIPE = 2
PACKAGES = ["systemd", "systemd-sysv", "dbus", "libpam-systemd", "openssh-server", "python3",
            "python3-apt", "iproute2", "sudo", "ca-certificates", "procps", "less"]
MASKED = ["apt-daily.timer", "apt-daily-upgrade.timer", "systemd-networkd-wait-online.service",
          "getty@.service", "serial-getty@.service", "console-getty.service",
          "container-getty@.service"]
LAB_USER = "debian"


@dataclass(frozen=True)
class Image:
    """A ready base image."""

    debian: str
    codename: str
    root: Path  # the rootfs dir (overlay lower)


def codename(debian: str) -> str:
    """``"13"`` -> ``"trixie"``; UserError for anything else."""
    if debian not in RELEASES:
        raise UserError(f"unsupported Debian release {debian!r}",
                        "use --debian 13 (trixie) or --debian 12 (bookworm)")
    return RELEASES[debian]


def image_dir(cache: Path, debian: str) -> Path:
    """Where the image of this release lives in the cache."""
    return cache / f"{codename(debian)}-v{RECIPE}"


def find(cache: Path, debian: str) -> Image | None:
    """The cached image if it is complete."""
    path = image_dir(cache, debian)
    if (path / "image.json").is_file() and (path / "rootfs" / "usr").is_dir():
        return Image(debian, codename(debian), path / "rootfs")
    return None


def ensure(cache: Path, debian: str, log=print) -> Image:
    """The cached image, built first if missing (one builder at a time per release)."""
    name = codename(debian)
    cache.mkdir(parents=True, exist_ok=True)
    with locked(cache / f".lock-{name}"):
        found = find(cache, debian)
        if found:
            log(f"Debian {debian} image: reusing {image_dir(cache, debian)} "
                f"(built {_built(image_dir(cache, debian))})")
            return found
        for stale in cache.glob(f".build-{name}-*"):
            log(f"removing an interrupted image build: {stale}")
            remove_tree(stale)
        tmp = cache / f".build-{name}-{os.getpid()}"
        start = time.monotonic()
        mirrors = mirror_mod.detect()
        log(f"building the Debian {debian} ({name}) base image from {mirrors.archive} "
            "(once, about a minute)")
        try:
            _debootstrap(tmp / "rootfs", name, mirrors.archive, cache / "debs")
            _prepare(tmp / "rootfs", name, mirrors)
            meta = {"debian": debian, "codename": name, "recipe": RECIPE,
                    "mirror": mirrors.archive, "security": mirrors.security,
                    "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "seconds": round(time.monotonic() - start, 1)}
            write_file(tmp / "image.json", json.dumps(meta, indent=2) + "\n")
            os.rename(tmp, image_dir(cache, debian))
        except BaseException:
            remove_tree(tmp)
            raise
        log(f"image ready in {time.monotonic() - start:.0f} s: {image_dir(cache, debian)}")
        return Image(debian, name, image_dir(cache, debian) / "rootfs")


def _built(path: Path) -> str:
    try:
        return json.loads((path / "image.json").read_text())["built"]
    except (OSError, ValueError, KeyError):
        return "at an unknown time"


def _debootstrap(root: Path, name: str, archive: str, debs: Path) -> None:
    root.mkdir(parents=True)
    debs.mkdir(parents=True, exist_ok=True)
    run(["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}",
         f"--cache-dir={debs}", name, str(root), archive], timeout=1800)


def sources_text(name: str, mirrors: mirror_mod.Mirrors) -> str:
    """deb822 sources of a lab host: release, -updates and -security."""
    keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"
    return (f"Types: deb\nURIs: {mirrors.archive}\nSuites: {name} {name}-updates\n"
            f"Components: main\nSigned-By: {keyring}\n\n"
            f"Types: deb\nURIs: {mirrors.security}\nSuites: {name}-security\n"
            f"Components: main\nSigned-By: {keyring}\n")


def nspawn_run(root: Path, *argv: str) -> None:
    """Run one command in the (not booted) image, with the machine's network."""
    run(["systemd-nspawn", "-q", "-D", str(root), "--register=no", "--keep-unit",
         "--resolv-conf=bind-host", "--setenv=DEBIAN_FRONTEND=noninteractive",
         "--setenv=LC_ALL=C.UTF-8", *argv], timeout=1800)


def _prepare(root: Path, name: str, mirrors: mirror_mod.Mirrors) -> None:
    (root / "etc/apt/sources.list").unlink(missing_ok=True)
    write_file(root / "etc/apt/sources.list.d/debian.sources", sources_text(name, mirrors))
    write_file(root / "etc/apt/apt.conf.d/90lab-no-recommends",
               'APT::Install-Recommends "false";\n')
    nspawn_run(root, "apt-get", "update", "-q")
    nspawn_run(root, "apt-get", "-y", "-q", "dist-upgrade")
    if not (root / "usr/lib/systemd/systemd-networkd").exists():
        nspawn_run(root, "apt-get", "-y", "-q", "install", "systemd-networkd")
    nspawn_run(root, "useradd", "--create-home", "--shell", "/bin/bash", "--user-group",
               LAB_USER)
    nspawn_run(root, "systemctl", "enable", "systemd-networkd.service")
    nspawn_run(root, "apt-get", "clean")
    for unit in MASKED:
        link = root / "etc/systemd/system" / unit
        link.unlink(missing_ok=True)
        link.symlink_to("/dev/null")
    write_file(root / f"etc/sudoers.d/90-lab-{LAB_USER}",
               f"# lab host: passwordless sudo\n{LAB_USER} ALL=(ALL) NOPASSWD:ALL\n",
               0o440)
    write_file(root / "etc/machine-id", "", 0o444)
    (root / "var/lib/dbus/machine-id").unlink(missing_ok=True)
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    # The package lists stay, as on a VM updated when it was made: a host made within
    # cache_valid_time of the build uses them as they are, later ones refresh them.
    (root / "etc/hostname").unlink(missing_ok=True)
