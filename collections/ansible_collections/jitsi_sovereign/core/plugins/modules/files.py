#!/usr/bin/python
# jitsi-sovereign: write a role's files in one module call.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: files
short_description: Write a set of files, directories and links in one call
description:
  - One module call instead of one template/copy/file task per file (each of those costs
    two module runs and a file transfer, ~1.2 s per file on a lab host).
  - Order - remove the C(absent) paths, create the C(dirs), write the C(files) in list order
    (a file's validator may use a file written before it), then make the C(links).
  - A file whose content differs is written only after its C(validate) command accepted the
    candidate (a copy in a private temporary directory, its path in place of C(%s)), through a
    temporary file in the destination directory with the final owner and mode, then renamed
    over the destination (atomic). Owner or mode drift alone is fixed in place.
  - The action plugin of the same name renders C(src) templates on the controller with
    Ansible's template lookup (the role's templates/ directory), so the module only ever gets
    C(content).
  - Contents are never returned nor logged (C(content) is no_log); the diff (C(--diff)) leaves
    out files marked C(secret).
options:
  files:
    description: Files to write.
    type: list
    elements: dict
    default: []
    suboptions:
      dest: {description: Absolute path., type: path, required: true}
      content: {description: The file's content (or C(src) for the action plugin)., type: str}
      src: {description: A template of the role, rendered on the controller., type: str}
      owner: {description: Owner name., type: str, default: root}
      group: {description: Group name., type: str, default: root}
      mode: {description: Octal mode as a string, e.g. C("0644")., type: str, required: true}
      validate: {description: Command run on the candidate, C(%s) is its path., type: str}
      secret: {description: Holds a secret (never in a diff)., type: bool, default: false}
      unit:
        description:
          - The file is a drop-in of this systemd unit (e.g. C(coturn.service)) - the candidate
            is checked by C(systemd-analyze verify) first, with the unit's other drop-ins, in a
            private unit directory searched before the system's; a unit that is not installed
            (Jitsi's in the lab) is checked against a stand-in unit in that directory only,
            never installed. Any message about the candidate (an unknown key, a value systemd
            cannot parse, which it would only log and ignore) refuses it.
        type: str
  dirs:
    description: Directories to create (parents too) and keep at this owner and mode.
    type: list
    elements: dict
    default: []
    suboptions:
      path: {description: Absolute path., type: path, required: true}
      owner: {description: Owner name., type: str, default: root}
      group: {description: Group name., type: str, default: root}
      mode: {description: Octal mode as a string., type: str, required: true}
  links:
    description: Symbolic links (replace a file or another link at C(dest)).
    type: list
    elements: dict
    default: []
    suboptions:
      dest: {description: The link's path., type: path, required: true}
      src: {description: What it points to., type: str, required: true}
  absent:
    description: Files or links to remove (never directories).
    type: list
    elements: path
    default: []
"""

RETURN = r"""
written: {description: Files written (content, owner or mode changed)., type: list, returned: always}
created_dirs: {description: Directories created or fixed., type: list, returned: always}
linked: {description: Links made or changed., type: list, returned: always}
removed: {description: Paths removed., type: list, returned: always}
"""

import base64
import grp
import os
import pwd
import re
import shlex
import shutil
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule

FILE_SPEC = dict(
    dest=dict(type="path", required=True),
    # no_log: a content never reaches the journal nor the result (it may hold a secret).
    content=dict(type="str", no_log=True),
    src=dict(type="str"),
    owner=dict(type="str", default="root"),
    group=dict(type="str", default="root"),
    mode=dict(type="str", required=True),
    validate=dict(type="str"),
    secret=dict(type="bool", default=False),
    unit=dict(type="str"),
)
DIR_SPEC = dict(
    path=dict(type="path", required=True),
    owner=dict(type="str", default="root"),
    group=dict(type="str", default="root"),
    mode=dict(type="str", required=True),
)
LINK_SPEC = dict(dest=dict(type="path", required=True), src=dict(type="str", required=True))
DIFF_MAX = 64 * 1024


class Failure(Exception):
    """A problem to report with the path it concerns."""


def _ids(owner, group, check_mode):
    """uid, gid of the names (None in check mode when a name does not exist yet)."""
    try:
        uid = pwd.getpwnam(owner).pw_uid
    except KeyError:
        if check_mode:
            return None, None
        raise Failure(f"user {owner!r} does not exist") from None
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        if check_mode:
            return None, None
        raise Failure(f"group {group!r} does not exist") from None
    return uid, gid


def _mode(text):
    try:
        value = int(str(text), 8)
    except ValueError:
        raise Failure(f"mode {text!r} is not an octal mode such as '0644'") from None
    if value < 0 or value > 0o7777:
        raise Failure(f"mode {text!r} is out of range")
    return value


def _differs(st, uid, gid, mode):
    return uid is None or st.st_uid != uid or st.st_gid != gid or stat.S_IMODE(st.st_mode) != mode


def ensure_dir(item, check_mode):
    """Create or fix one directory. True if it changed (or would)."""
    path = item["path"]
    mode = _mode(item["mode"])
    uid, gid = _ids(item["owner"], item["group"], check_mode)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISDIR(st.st_mode):
        raise Failure("exists and is not a directory")
    if st is not None and not _differs(st, uid, gid, mode):
        return False
    if check_mode:
        return True
    if st is None:
        # Parents as `mkdir -p` makes them (0755 under the usual umask); this one gets its
        # mode below.
        os.makedirs(path, mode=0o755)
    os.chown(path, uid, gid)
    os.chmod(path, mode)
    return True


def _validate(module, command, data):
    """Run the validator on a private copy of the candidate; raise with its output on failure."""
    if "%s" not in command.replace("%%", ""):
        raise Failure(f"validate must contain %s (is {command!r})")
    tmpdir = tempfile.mkdtemp(prefix="jsov-validate-")
    try:
        candidate = os.path.join(tmpdir, "candidate")
        fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        # As Ansible's validate: %s is the candidate, %% a literal %.
        argv = [word.replace("%%", "\0").replace("%s", candidate).replace("\0", "%")
                for word in shlex.split(command)]
        rc, out, err = module.run_command(argv)
        if rc != 0:
            raise Failure(f"the new content was refused by `{command}` (exit {rc}): "
                          f"{(err or out).strip()[-2000:]}")
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


# A unit that is not installed is verified as this stand-in (in the private directory only).
STAND_IN = ("[Unit]\nDescription=stand-in to check a drop-in\nDefaultDependencies=no\n"
            "[Service]\nExecStart=/bin/true\n")


def _validate_dropin(module, unit, dest, data):
    """systemd-analyze verify of the unit with the candidate as its drop-in `dest`.

    systemd reads SYSTEMD_UNIT_PATH (a trailing ':' appends the normal search path): the
    private directory comes first, so the candidate replaces the installed drop-in of the
    same name and the unit's other drop-ins still apply. systemd-analyze exits 0 on a key
    it ignores: every line naming the candidate counts as a refusal."""
    if not re.match(r"^[A-Za-z0-9@_.:-]+[.](service|socket|timer)$", unit):
        raise Failure(f"unit must be a unit name such as coturn.service (is {unit!r})")
    tmpdir = tempfile.mkdtemp(prefix="jsov-unit-")
    try:
        dropin_dir = os.path.join(tmpdir, unit + ".d")
        os.mkdir(dropin_dir, 0o755)
        candidate = os.path.join(dropin_dir, os.path.basename(dest))
        with open(candidate, "wb") as handle:
            handle.write(data)
        rc, out, _ = module.run_command(["systemctl", "show", "-P", "LoadState", unit])
        installed = rc == 0 and out.strip() not in ("not-found", "")
        if installed:
            path = tmpdir + ":"
        else:
            with open(os.path.join(tmpdir, unit), "w") as handle:
                handle.write(STAND_IN)
            path = tmpdir
        rc, out, err = module.run_command(["systemd-analyze", "verify", "--man=no", unit],
                                          environ_update={"SYSTEMD_UNIT_PATH": path})
        about = [line for line in (out + err).splitlines() if candidate in line]
        if rc != 0 or about:
            text = "\n".join(about) or (err or out).strip()[-2000:]
            text = text.replace(candidate, dest)
            raise Failure(f"systemd-analyze verify refused the drop-in of {unit}"
                          f"{'' if installed else ' (checked on a stand-in unit: not installed)'}"
                          f": {text}")
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def _write_atomic(path, data, uid, gid, mode):
    """Temporary file in the destination directory (final owner and mode), then rename."""
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".",
                               suffix=".jsov-tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchown(handle.fileno(), uid, gid)
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(tmp, path)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise


def ensure_file(module, item, check_mode, want_diff, gone=()):
    """Write or fix one file. Returns (changed, diff or None).

    gone: paths removed earlier in this call (in check mode they are still there)."""
    path = item["dest"]
    if item.get("content") is None:
        raise Failure("no content (give content, or src through the action plugin)")
    data = item["content"].encode("utf-8")
    mode = _mode(item["mode"])
    uid, gid = _ids(item["owner"], item["group"], check_mode)
    try:
        st = None if path in gone else os.lstat(path)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise Failure("exists and is not a regular file (a link or a directory): remove it first")
    old = None
    if st is not None:
        with open(path, "rb") as handle:
            old = handle.read()
    same_content = old == data
    if same_content and not _differs(st, uid, gid, mode):
        return False, None
    # The action plugin adds the new content ("after") to the diff and decodes "before":
    # a content is no_log here, so Ansible would mask it wherever it appears in a result
    # (even inside the old content).
    diff = None
    if want_diff and not item.get("secret") and not same_content:
        diff = {"before_header": path, "after_header": path,
                "before_b64": base64.b64encode(_text(old).encode("utf-8")).decode("ascii")}
    if check_mode:
        return True, diff
    if not os.path.isdir(os.path.dirname(path)):
        raise Failure(f"its directory {os.path.dirname(path)} does not exist")
    if same_content:
        os.chown(path, uid, gid)
        os.chmod(path, mode)
        return True, diff
    if item.get("validate"):
        _validate(module, item["validate"], data)
    if item.get("unit"):
        _validate_dropin(module, item["unit"], path, data)
    _write_atomic(path, data, uid, gid, mode)
    return True, diff


def _text(data):
    if data is None:
        return ""
    if len(data) > DIFF_MAX:
        return f"({len(data)} bytes, too long to show)\n"
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return "(binary content)\n"


def ensure_link(item, check_mode, gone=()):
    path, target = item["dest"], item["src"]
    if path in gone:
        return True
    if os.path.islink(path) and os.readlink(path) == target:
        return False
    if os.path.isdir(path) and not os.path.islink(path):
        raise Failure("is a directory: a link cannot replace it")
    if check_mode:
        return True
    tmp = path + ".jsov-tmp"
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(target, tmp)
    os.rename(tmp, path)
    return True


def remove(path, check_mode):
    if not os.path.lexists(path):
        return False
    if os.path.isdir(path) and not os.path.islink(path):
        raise Failure("is a directory: jitsi_sovereign_files removes only files and links")
    if not check_mode:
        os.unlink(path)
    return True


def main():
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type="list", elements="dict", default=[], options=FILE_SPEC),
            dirs=dict(type="list", elements="dict", default=[], options=DIR_SPEC),
            links=dict(type="list", elements="dict", default=[], options=LINK_SPEC),
            absent=dict(type="list", elements="path", default=[]),
        ),
        supports_check_mode=True,
    )
    check = module.check_mode
    # What ran, without the contents (the full arguments would be a long, masked echo).
    invocation = {"module_args": {
        "files": [item["dest"] for item in module.params["files"]],
        "dirs": [item["path"] for item in module.params["dirs"]],
        "links": module.params["links"], "absent": module.params["absent"]}}
    result = dict(changed=False, written=[], created_dirs=[], linked=[], removed=[],
                  invocation=invocation)
    diffs = []
    steps = ([("removed", p, lambda p=p: remove(p, check)) for p in module.params["absent"]]
             + [("created_dirs", d["path"], lambda d=d: ensure_dir(d, check))
                for d in module.params["dirs"]])
    for kind, path, step in steps:
        try:
            if step():
                result[kind].append(path)
        except (Failure, OSError) as exc:
            module.fail_json(msg=f"{path}: {exc}", **result)
    for item in module.params["files"]:
        try:
            changed, diff = ensure_file(module, item, check, module._diff, result["removed"])
        except (Failure, OSError) as exc:
            module.fail_json(msg="{}: {}".format(item["dest"], exc), **result)
        if changed:
            result["written"].append(item["dest"])
        if diff:
            diffs.append(diff)
    for item in module.params["links"]:
        try:
            if ensure_link(item, check, result["removed"] if check else ()):
                result["linked"].append(item["dest"])
        except (Failure, OSError) as exc:
            module.fail_json(msg="{}: {}".format(item["dest"], exc), **result)
    result["changed"] = any(result[k] for k in ("written", "created_dirs", "linked", "removed"))
    if diffs:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
