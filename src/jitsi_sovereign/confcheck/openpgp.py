"""OpenPGP v4 fingerprints of a public key file (armored or binary), in pure Python.

Used on the controller before an apt signing key is copied to a host (filter plugin
playbooks/filter_plugins/openpgp.py) and by the checks on the key read back from the
host. No gpg involved: the fingerprint of a v4 key is, per RFC 4880 section 12.2,

    SHA1(0x99 || two-octet length of the key packet body || key packet body)

over the public-key packet (tag 6) of the primary key (tag 14 for subkeys). Only the
packet framing is parsed (old and new packet headers, partial lengths refused); the
key material itself is hashed, never interpreted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field

TAG_PUBLIC_KEY = 6
TAG_PUBLIC_SUBKEY = 14
TAG_USER_ID = 13

_ARMOR_RE = re.compile(
    r"-----BEGIN PGP PUBLIC KEY BLOCK-----\r?\n(?P<body>.*?)-----END PGP PUBLIC KEY BLOCK-----",
    re.S)
_FPR_RE = re.compile(r"^[0-9A-F]{40}$")


class OpenPGPError(ValueError):
    """Not a well-formed OpenPGP public key (the message says what is wrong)."""


@dataclass
class PublicKey:
    """One primary key of a key file: its fingerprint, subkeys and user IDs."""

    fingerprint: str
    version: int
    created: int
    algorithm: int
    subkeys: list[str] = field(default_factory=list)
    user_ids: list[str] = field(default_factory=list)


def normalize_fingerprint(value: str) -> str:
    """``66A9 CD05 ...`` / ``0x66a9cd05...`` -> 40 upper-case hex digits (ValueError if not)."""
    text = re.sub(r"\s+", "", str(value)).upper().removeprefix("0X")
    if not _FPR_RE.match(text):
        raise ValueError(f"not a v4 OpenPGP fingerprint (40 hex digits): {value!r}")
    return text


def _crc24(data: bytes) -> int:
    crc = 0xB704CE
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def dearmor(text: str) -> bytes:
    """The binary packets of an ASCII-armored public key block (checksum verified)."""
    match = _ARMOR_RE.search(text)
    if not match:
        raise OpenPGPError("no '-----BEGIN PGP PUBLIC KEY BLOCK-----' armor found")
    lines = match.group("body").splitlines()
    # Armor headers ("Comment: ...", "Version: ...") end at the first empty line; data
    # lines are never empty.
    stripped = [line.strip() for line in lines]
    if "" in stripped:
        lines = lines[stripped.index("") + 1:]
    data_lines, checksum = [], None
    for line in (line.strip() for line in lines):
        if not line:
            continue
        if line.startswith("=") and len(line) == 5:
            checksum = line[1:]
            break
        data_lines.append(line)
    try:
        data = base64.b64decode("".join(data_lines), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise OpenPGPError(f"armored key: bad base64 ({exc})") from None
    if checksum is not None:
        try:
            want = int.from_bytes(base64.b64decode(checksum, validate=True), "big")
        except (binascii.Error, ValueError):
            raise OpenPGPError("armored key: bad checksum line") from None
        if _crc24(data) != want:
            raise OpenPGPError("armored key: CRC-24 checksum does not match (damaged key)")
    return data


def packets(data: bytes) -> list[tuple[int, bytes]]:
    """(tag, body) of every packet, old and new format headers."""
    out, pos = [], 0
    while pos < len(data):
        head = data[pos]
        pos += 1
        if not head & 0x80:
            raise OpenPGPError(f"byte {pos - 1}: not an OpenPGP packet header")
        if head & 0x40:  # new format
            tag = head & 0x3F
            if pos >= len(data):
                raise OpenPGPError("truncated packet header")
            first = data[pos]
            if first < 192:
                length, pos = first, pos + 1
            elif first < 224:
                if pos + 1 >= len(data):
                    raise OpenPGPError("truncated packet header")
                length, pos = ((first - 192) << 8) + data[pos + 1] + 192, pos + 2
            elif first == 255:
                length, pos = int.from_bytes(data[pos + 1:pos + 5], "big"), pos + 5
            else:
                raise OpenPGPError("partial body lengths are not used in key files")
        else:  # old format
            tag, kind = (head >> 2) & 0x0F, head & 0x03
            if kind == 3:
                raise OpenPGPError("indeterminate packet length in a key file")
            size = 1 << kind
            length, pos = int.from_bytes(data[pos:pos + size], "big"), pos + size
        if pos + length > len(data):
            raise OpenPGPError(f"packet (tag {tag}) runs past the end of the data")
        out.append((tag, data[pos:pos + length]))
        pos += length
    return out


def _v4_fingerprint(body: bytes) -> str:
    if len(body) > 0xFFFF:
        raise OpenPGPError("key packet too long for a v4 fingerprint")
    digest = hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body)  # noqa: S324 - RFC 4880
    return digest.hexdigest().upper()


def parse_keys(content: bytes | str) -> list[PublicKey]:
    """Every primary key of a key file (armored text or binary keyring)."""
    if isinstance(content, str):
        data = dearmor(content)
    elif content.lstrip().startswith(b"-----BEGIN"):
        data = dearmor(content.decode("ascii", "replace"))
    else:
        data = content
    keys: list[PublicKey] = []
    for tag, body in packets(data):
        if tag in (TAG_PUBLIC_KEY, TAG_PUBLIC_SUBKEY):
            if len(body) < 6:
                raise OpenPGPError("key packet too short")
            version = body[0]
            if version != 4:
                raise OpenPGPError(f"key packet version {version}: only v4 keys are supported")
            fpr = _v4_fingerprint(body)
            if tag == TAG_PUBLIC_KEY:
                keys.append(PublicKey(fingerprint=fpr, version=version,
                                      created=int.from_bytes(body[1:5], "big"),
                                      algorithm=body[5]))
            elif not keys:
                raise OpenPGPError("subkey before any primary key")
            else:
                keys[-1].subkeys.append(fpr)
        elif tag == TAG_USER_ID and keys:
            keys[-1].user_ids.append(body.decode("utf-8", "replace"))
    if not keys:
        raise OpenPGPError("no public key packet found")
    return keys


def fingerprints(content: bytes | str) -> list[str]:
    """The primary-key fingerprints of a key file (40 upper-case hex digits each)."""
    return [key.fingerprint for key in parse_keys(content)]
