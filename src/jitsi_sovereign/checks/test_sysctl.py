"""Kernel parameters: live values (``sysctl``) against the security baseline."""

from __future__ import annotations

import pytest

from jitsi_sovereign.checks import parsers
from jitsi_sovereign.checks.helpers import require_area, run_ok

# A value is an int (exact), a set (one of) or ("min", n) (at least n: stricter is fine).
# Per network namespace: settable in a container too. dev-sec linux baseline +
# ANSSI BP-028 R12. arp_ignore: dev-sec 1, ANSSI 2 (1 keeps hosters' /32 routing working).
NET = {
    "net.ipv4.ip_forward": 0,
    "net.ipv4.conf.all.rp_filter": 1,
    "net.ipv4.conf.default.rp_filter": 1,
    "net.ipv4.conf.all.accept_redirects": 0,
    "net.ipv4.conf.default.accept_redirects": 0,
    "net.ipv4.conf.all.secure_redirects": 0,
    "net.ipv4.conf.default.secure_redirects": 0,
    "net.ipv4.conf.all.send_redirects": 0,
    "net.ipv4.conf.default.send_redirects": 0,
    "net.ipv4.conf.all.accept_source_route": 0,
    "net.ipv4.conf.default.accept_source_route": 0,
    "net.ipv4.conf.all.log_martians": 1,
    "net.ipv4.conf.default.log_martians": 1,
    "net.ipv4.conf.all.accept_local": 0,
    "net.ipv4.conf.all.route_localnet": 0,
    "net.ipv4.conf.all.drop_gratuitous_arp": 1,
    "net.ipv4.conf.all.arp_filter": 1,
    "net.ipv4.conf.all.arp_ignore": {1, 2},
    "net.ipv4.conf.all.arp_announce": 2,
    "net.ipv4.conf.all.shared_media": 0,
    "net.ipv4.conf.default.shared_media": 0,
    "net.ipv4.tcp_syncookies": 1,
    "net.ipv4.tcp_rfc1337": 1,
    "net.ipv4.tcp_timestamps": 0,
    "net.ipv4.icmp_echo_ignore_broadcasts": 1,
    "net.ipv4.icmp_ignore_bogus_error_responses": 1,
    "net.ipv4.icmp_ratelimit": 100,
    "net.ipv4.icmp_ratemask": 88089,
    "net.ipv6.conf.all.forwarding": 0,
    "net.ipv6.conf.all.accept_redirects": 0,
    "net.ipv6.conf.default.accept_redirects": 0,
    "net.ipv6.conf.all.accept_source_route": 0,
    "net.ipv6.conf.default.accept_source_route": 0,
}

# dev-sec's IPv6 autoconfiguration set: only when router advertisements were turned off
# (the default keeps them: many hosts get IPv6 that way).
IPV6_NO_RA = {
    "net.ipv6.conf.all.accept_ra": 0,
    "net.ipv6.conf.default.accept_ra": 0,
    "net.ipv6.conf.all.autoconf": 0,
    "net.ipv6.conf.default.autoconf": 0,
    "net.ipv6.conf.all.router_solicitations": 0,
    "net.ipv6.conf.default.router_solicitations": 0,
    "net.ipv6.conf.all.max_addresses": 1,
    "net.ipv6.conf.default.max_addresses": 1,
}

# Global to the kernel (read-only in a container). dev-sec + ANSSI BP-028 R9.
KERNEL = {
    "kernel.randomize_va_space": 2,
    "kernel.kptr_restrict": 2,
    "kernel.dmesg_restrict": 1,
    "kernel.sysrq": 0,
    "kernel.yama.ptrace_scope": ("min", 2),
    "kernel.kexec_load_disabled": 1,
    "kernel.perf_event_paranoid": ("min", 2),
    "kernel.panic_on_oops": 1,
    "kernel.unprivileged_bpf_disabled": {1, 2},
    "kernel.unprivileged_userns_clone": 0,
    "net.core.bpf_jit_harden": 2,
    "fs.suid_dumpable": 0,
    "fs.protected_hardlinks": 1,
    "fs.protected_symlinks": 1,
    "fs.protected_fifos": ("min", 1),
    "fs.protected_regular": 2,
    "vm.mmap_min_addr": ("min", 65536),
    "vm.mmap_rnd_bits": ("min", 32),
}


def accepts(spec, value: str) -> bool:
    try:
        number = int(value)
    except ValueError:
        return False
    if isinstance(spec, tuple):
        return number >= spec[1]
    if isinstance(spec, set):
        return number in spec
    return number == spec


def describe(spec) -> str:
    if isinstance(spec, tuple):
        return f">= {spec[1]}"
    if isinstance(spec, set):
        return " or ".join(map(str, sorted(spec)))
    return str(spec)


@pytest.fixture(scope="module")
def live(target) -> dict[str, str]:
    """Every key of this module in one ``sysctl -e`` call."""
    keys = list(NET) + list(IPV6_NO_RA) + list(KERNEL)
    return parsers.parse_sysctl(run_ok(target, "sysctl -e " + " ".join(keys), what="sysctl"))


def _check(key: str, spec, live: dict[str, str]) -> None:
    if key not in live:
        pytest.skip(f"this kernel has no {key}")
    assert accepts(spec, live[key]), f"{key} = {live[key]}, baseline wants {describe(spec)}"


@pytest.mark.parametrize("key", list(NET))
def test_net(key, os_state, live):
    """network sysctl has its baseline value."""
    require_area(os_state, "sysctl_net")
    _check(key, NET[key], live)


@pytest.mark.parametrize("key", list(IPV6_NO_RA))
def test_ipv6_autoconf(key, os_state, live):
    """IPv6 autoconfiguration sysctl is off (when router advertisements are refused)."""
    require_area(os_state, "sysctl_net")
    if (os_state.get("sysctl") or {}).get("ipv6_accept_ra", True):
        pytest.skip("os_hardening_sysctl_ipv6_accept_ra is true: IPv6 router advertisements "
                    "are kept (the host may get its IPv6 address or route that way)")
    _check(key, IPV6_NO_RA[key], live)


@pytest.mark.parametrize("key", list(KERNEL))
def test_kernel(key, os_state, container, live):
    """kernel-wide sysctl has its baseline value."""
    if container:
        pytest.skip(f"read-only /proc/sys inside a container (systemd-detect-virt: {container})")
    require_area(os_state, "sysctl_kernel")
    _check(key, KERNEL[key], live)


def test_net_persisted(os_state, target):
    """the network sysctls are written to a file read at boot, with baseline values."""
    require_area(os_state, "sysctl_net")
    path = (os_state.get("sysctl") or {}).get("net_file") or ""
    assert path.startswith("/etc/sysctl.d/") and path.endswith(".conf"), (
        f"os_hardening.json names {path!r} as the sysctl file; it must be in /etc/sysctl.d/")
    written: dict[str, str] = {}
    for line in run_ok(target, "cat %s", path, what=f"reading {path}").splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith(("#", ";")):
            written[key.strip()] = value.strip()
    missing = [k for k in NET if k not in written]
    wrong = [f"{k} = {written[k]}" for k in NET if k in written and not accepts(NET[k],
                                                                              written[k])]
    assert not missing, f"{path} does not set: {', '.join(missing)}"
    assert not wrong, f"{path} sets non-baseline values: {', '.join(wrong)}"
