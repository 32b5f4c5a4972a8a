#!/usr/bin/python3
# jitsi-sovereign: read, in one process, everything a role compares with what it wants.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read, in one process, what the role would otherwise ask with one task per item.

Read-only. argv[1] is a JSON request; the answer is JSON on stdout:
  files:    {path: {sha1, mode, uid, gid} | null}    (content checksum and ownership; null: no
            such regular file; sha1 null: a file this reader may not read)
  dirs:     {path: {mode, uid, gid} | null}
  units:    {unit: {enabled, active}}                (systemctl show, one call)
  packages: [names not installed]                    (dpkg-query, one call)
  sysctl:   {missing: [keys], differ: ["key=value"]} (read from /proc/sys)
  commands: {name: exit code}                        (e.g. "nft list table ...")
  digests:  {name: sha1 of the command's output | null when it fails}
  texts:    {path: stripped content | null}          (small files, e.g. a stored digest)
  moduli:   number of /etc/ssh/moduli entries shorter than 2048 bits
  links:    {path: symlink target | null}             (null: not a symlink, or missing)
  versions: {package: installed version | null}       (dpkg-query, one call)
  certs:    {path: {subject, issuer, serial, not_after, days_left, sans, sha256, pubkey_sha1} | null}
            (first certificate of a PEM file, read with the openssl command)
  keys:     {path: pubkey_sha1 | null}                (private key -> sha1 of its public key)
  uids:     {user: uid | null}                        (from "users": names; null: no such user)
  gids:     {group: gid | null}                       (from "groups": names)
  apt:      {indexes, age, unavailable}               (from "apt": {names, valid_time}; only when asked)
            indexes: package index files in /var/lib/apt/lists; age: seconds since the lists
            last changed, as ansible.builtin.apt's cache_valid_time measures it; unavailable:
            apt-get's errors when it simulates installing the names from the lists as they
            are ([]: it can), null when not simulated (no index, or lists older than valid_time)
  connection: {ssh, client, server_port, user, uid, groups, authorized_keys}
            (from "connection": true) the SSH connection running this read (SSH_CONNECTION: the
            client address as its packets carry it, the server port; ssh false without one)
            and the user it logged in as (its groups, its count of authorized keys). The
            action runs a request holding "connection" as the connecting user (no become).
This file is the host side of jitsi_sovereign.core.state: the action plugin of the same name
runs it with `python3 -c` in one plain exec (plugins/plugin_utils/host.py), never as an
Ansible module, so it needs nothing but Python's standard library on the host.
"""

DOCUMENTATION = r"""
module: state
short_description: Read files, units, packages, certificates... of the host in one exec
description:
  - A role's one read of the host. Each option names what to read; the task's result holds the
    answer under the same key (C(users) answers under C(uids), C(groups) under C(gids)).
  - Read-only, never changed, also in check mode. Runs as one plain exec (like
    M(ansible.builtin.raw)), about twice as fast as a module.
options:
  files: {description: Paths; answers sha1, mode, uid, gid (null when missing)., type: list, elements: path}
  dirs: {description: Directories; answers mode, uid, gid., type: list, elements: path}
  units: {description: systemd units; answers enabled and active states., type: list, elements: str}
  packages: {description: Package names; answers those not installed., type: list, elements: str}
  sysctl: {description: C(key=value) pairs; answers the missing keys and the pairs that differ., type: list, elements: str}
  commands: {description: Name to argv; answers each command's exit code., type: dict}
  digests: {description: Name to argv; answers the sha1 of each command's output., type: dict}
  texts: {description: Small files; answers their stripped content., type: list, elements: path}
  moduli: {description: Count the weak /etc/ssh/moduli entries., type: bool}
  links: {description: Paths; answers each symlink's target., type: list, elements: path}
  versions: {description: Package names; answers the installed versions., type: list, elements: str}
  certs: {description: PEM files; answers names, validity, serial and public key digest of the first certificate., type: list, elements: path}
  keys: {description: Private key files; answers the sha1 of the public key., type: list, elements: path}
  users: {description: User names; answers their uids under C(uids)., type: list, elements: str}
  groups: {description: Group names; answers their gids under C(gids)., type: list, elements: str}
  apt: {description: C(names) and C(valid_time); answers the package lists' state., type: dict}
  connection:
    description:
      - Read the SSH connection running this task and the user it logged in as.
      - The whole request is then read as that user, without become (sudo clears SSH_CONNECTION).
    type: bool
"""

EXAMPLES = r"""
- name: Read the current state (one command)
  jitsi_sovereign.core.state:
    files: [/etc/turnserver.conf]
    units: [coturn.service]
    packages: [coturn]
  register: _coturn_current
"""

import calendar
import grp
import hashlib
import json
import os
import pwd
import re
import stat
import subprocess
import sys
import time


def _file(path):
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    try:
        with open(path, "rb") as handle:
            digest = hashlib.sha1(handle.read()).hexdigest()  # noqa: S324 - same checksum as Ansible's
    except PermissionError:  # read as a user (connection): it exists, its content is private
        digest = None
    except OSError:
        return None
    return {"sha1": digest, "mode": f"{stat.S_IMODE(st.st_mode):04o}", "uid": st.st_uid, "gid": st.st_gid}


def _dir(path):
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode):
        return None
    return {"mode": f"{stat.S_IMODE(st.st_mode):04o}", "uid": st.st_uid, "gid": st.st_gid}


def _units(names):
    if not names:
        return {}
    res = subprocess.run(["systemctl", "show", "--property=UnitFileState,ActiveState", "--", *names],
                         capture_output=True, text=True, check=False)
    blocks = [b for b in res.stdout.strip().split("\n\n")]
    out = {}
    for name, block in zip(names, blocks + [""] * len(names), strict=False):
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        out[name] = {"enabled": props.get("UnitFileState", ""), "active": props.get("ActiveState", "")}
    return out


def _missing_packages(names):
    if not names:
        return []
    res = subprocess.run(["dpkg-query", "--show", "--showformat=${Package} ${db:Status-Abbrev}\n", *names],
                         capture_output=True, text=True, check=False)
    installed = {line.split()[0] for line in res.stdout.splitlines() if line.split()[1:2] == ["ii"]}
    return [name for name in names if name not in installed]


_FORWARDING_RE = re.compile(r"^net\.ipv4\.ip_forward$|^net\.ipv[46]\.conf\.all\.forwarding$")


def _sysctl(pairs):
    missing, differ = [], []
    for pair in pairs:
        key, _, want = pair.partition("=")
        try:
            with open("/proc/sys/" + key.replace(".", "/"), encoding="utf-8") as handle:
                have = " ".join(handle.read().split())
        except FileNotFoundError:
            missing.append(key)
            continue
        if have != " ".join(want.split()):
            differ.append(pair)
    if any(_FORWARDING_RE.search(pair.partition("=")[0]) for pair in differ):
        # Writing a forwarding switch resets the per-interface keys (accept_redirects...):
        # apply it first, then every other key again.
        first = [p for p in pairs if _FORWARDING_RE.search(p.partition("=")[0])]
        differ = first + [p for p in pairs if p not in first and p.partition("=")[0] not in missing]
    return {"missing": missing, "differ": differ}


def _weak_moduli(path="/etc/ssh/moduli"):
    count = 0
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                fields = line.split()
                if len(fields) >= 7 and not line.startswith("#") and int(fields[4]) < 2047:
                    count += 1
    except OSError:
        pass
    return count


def _returncode(argv):
    try:
        return subprocess.run(argv, capture_output=True, check=False).returncode
    except OSError:  # command not installed (yet)
        return 127


def _digest(argv):
    """sha1 of a command's output, or None when it fails (e.g. a table not loaded)."""
    try:
        res = subprocess.run(argv, capture_output=True, check=False)
    except OSError:
        return None
    text = res.stdout.decode("utf-8", "replace").rstrip("\n")  # as Ansible strips stdout
    # sha1: a change detector for the controller, not a security function.
    return hashlib.sha1(text.encode()).hexdigest() if res.returncode == 0 else None  # noqa: S324


def _text(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError:
        return None


def _link(path):
    try:
        return os.readlink(path)
    except OSError:
        return None


def _versions(names):
    if not names:
        return {}
    res = subprocess.run(["dpkg-query", "--show", "--showformat=${Package} ${db:Status-Abbrev} ${Version}\n", *names],
                         capture_output=True, text=True, check=False)
    found = {}
    for line in res.stdout.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[1] == "ii":
            found[fields[0]] = fields[2]
    return {name: found.get(name) for name in names}


_PEM_PUBKEY_RE = re.compile(r"-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----", re.S)


def _pubkey_sha1(pem):
    match = _PEM_PUBKEY_RE.search(pem)
    if not match:
        return None
    return hashlib.sha1(match.group(0).encode()).hexdigest()  # noqa: S324 - identity, not security


def _cert(path):
    """The first certificate of a PEM file: names, validity, serial, public key digest."""
    if not os.path.isfile(path):
        return None
    argv = ["openssl", "x509", "-in", path, "-noout", "-nameopt", "RFC2253", "-subject", "-issuer",
            "-serial", "-enddate", "-fingerprint", "-sha256", "-ext", "subjectAltName", "-pubkey"]
    try:
        res = subprocess.run(argv, capture_output=True, text=True, check=False)
    except OSError:  # openssl not installed (yet)
        return None
    if res.returncode != 0:
        return None
    out = {"subject": None, "issuer": None, "serial": None, "not_after": None, "days_left": None,
           "sans": [], "sha256": None, "pubkey_sha1": _pubkey_sha1(res.stdout)}
    lines = res.stdout.splitlines()
    for i, line in enumerate(lines):
        key, _, value = line.partition("=")
        low = key.lower()
        if low in ("subject", "issuer", "serial"):
            out[low] = value.strip()
        elif low == "notafter":
            stamp = calendar.timegm(time.strptime(value.strip(), "%b %d %H:%M:%S %Y %Z"))
            out["not_after"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))
            out["days_left"] = round((stamp - time.time()) / 86400, 2)
        elif low.endswith("fingerprint"):
            out["sha256"] = value.strip().replace(":", "").lower()
        elif line.strip().startswith("X509v3 Subject Alternative Name") and i + 1 < len(lines):
            out["sans"] = [name.strip()[4:] for name in lines[i + 1].split(",") if name.strip().startswith("DNS:")]
    return out


def _key(path):
    """sha1 of the public key of a private key file (compare with a certificate's pubkey_sha1)."""
    if not os.path.isfile(path):
        return None
    try:
        res = subprocess.run(["openssl", "pkey", "-in", path, "-pubout"], capture_output=True, text=True, check=False)
    except OSError:
        return None
    return _pubkey_sha1(res.stdout) if res.returncode == 0 else None


def _uid(name):
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


def _gid(name):
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return None


APT_LISTS = "/var/lib/apt/lists"
# apt's own success stamp, which ansible.builtin.apt reads before the lists' mtime.
APT_STAMP = "/var/lib/apt/periodic/update-success-stamp"


def _apt(req):
    try:
        indexes = sum(1 for name in os.listdir(APT_LISTS) if "_Packages" in name)
    except OSError:
        indexes = 0
    try:
        mtime = os.stat(APT_STAMP if os.path.exists(APT_STAMP) else APT_LISTS).st_mtime
    except OSError:
        mtime = 0
    age = max(0, int(time.time() - mtime))
    names = req.get("names") or []
    unavailable = None
    if indexes and names and age <= int(req.get("valid_time", 3600)):
        env = dict(os.environ, LC_ALL="C", DEBIAN_FRONTEND="noninteractive")
        res = subprocess.run(["apt-get", "--simulate", "--quiet", "--no-install-recommends", "install", *names],
                             capture_output=True, text=True, check=False, env=env)
        errors = [line[3:].strip() for line in res.stderr.splitlines() if line.startswith("E: ")]
        unavailable = [] if res.returncode == 0 else (errors or [f"apt-get exited with {res.returncode}"])
    return {"indexes": indexes, "age": age, "unavailable": unavailable}


def _group_name(gid):
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _connection():
    """The SSH connection running this read, and the user it logged in as."""
    import ipaddress  # here: ~3 ms that the other reads, every role's, need not pay

    user = pwd.getpwuid(os.getuid())
    keys = 0
    try:
        with open(os.path.join(user.pw_dir, ".ssh", "authorized_keys"), encoding="utf-8", errors="replace") as handle:
            keys = sum(1 for line in handle if line.strip() and not line.lstrip().startswith("#"))
    except OSError:
        pass
    # SSH_CONNECTION: client address, client port, server address, server port.
    conn = os.environ.get("SSH_CONNECTION", "").split()
    client, port = "", 0
    if len(conn) == 4:
        address = ipaddress.ip_address(conn[0].split("%")[0])
        if address.version == 6 and address.ipv4_mapped:  # sshd on a dual-stack socket
            address = address.ipv4_mapped
        client, port = str(address), int(conn[3])
    return {"ssh": len(conn) == 4, "client": client, "server_port": port, "user": user.pw_name,
            "uid": user.pw_uid, "groups": sorted({_group_name(g) for g in {*os.getgroups(), user.pw_gid}}),
            "authorized_keys": keys}


def main():
    req = json.loads(sys.argv[1])
    out = {
        "files": {path: _file(path) for path in req.get("files", [])},
        "dirs": {path: _dir(path) for path in req.get("dirs", [])},
        "units": _units(req.get("units", [])),
        "packages": _missing_packages(req.get("packages", [])),
        "sysctl": _sysctl(req.get("sysctl", [])),
        "commands": {name: _returncode(argv) for name, argv in req.get("commands", {}).items()},
        "digests": {name: _digest(argv) for name, argv in req.get("digests", {}).items()},
        "texts": {path: _text(path) for path in req.get("texts", [])},
        "moduli": _weak_moduli() if req.get("moduli") else 0,
        "links": {path: _link(path) for path in req.get("links", [])},
        "versions": _versions(req.get("versions", [])),
        "certs": {path: _cert(path) for path in req.get("certs", [])},
        "keys": {path: _key(path) for path in req.get("keys", [])},
        "uids": {name: _uid(name) for name in req.get("users", [])},
        "gids": {name: _gid(name) for name in req.get("groups", [])},
    }
    if "apt" in req:
        out["apt"] = _apt(req["apt"])
    if req.get("connection"):
        out["connection"] = _connection()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
