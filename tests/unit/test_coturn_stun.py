"""STUN/TURN encoding of the coturn checks' probe, against RFC 5769's test vectors."""

from __future__ import annotations

import base64
import hashlib
import hmac

from jitsi_sovereign.checks import turnprobe as tp


def _hex(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


# RFC 5769 section 2.1: sample request (short-term credential; padding bytes are spaces).
REQUEST = _hex("""
00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
00 24 00 04 6e 00 01 ff
80 29 00 08 93 2f f9 b1 51 26 3b 36
00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
80 28 00 04 e5 7a 3b cf
""")
REQUEST_PASSWORD = b"VOkJxbRl1RmTxUk/WvJxBt"

# 2.2: IPv4 response, XOR-MAPPED-ADDRESS 192.0.2.1:32853.
RESPONSE_V4 = _hex("""
01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
00 20 00 08 00 01 a1 47 e1 12 a6 43
00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
80 28 00 04 c0 7d 4c 96
""")

# 2.3: IPv6 response, XOR-MAPPED-ADDRESS [2001:db8:1234:5678:11:2233:4455:6677]:32853.
RESPONSE_V6 = _hex("""
01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
80 28 00 04 c8 fb 0b 4c
""")

TXID = _hex("b7 e7 a7 01 bc 34 d6 86 fa 87 df ae")


def test_request_vector_integrity_and_fingerprint():
    assert tp.check_integrity(REQUEST, REQUEST_PASSWORD)
    assert not tp.check_integrity(REQUEST, b"wrong")
    assert tp.check_fingerprint(REQUEST)
    msg = tp.decode(REQUEST)
    assert (msg.method, msg.cls) == (tp.BINDING, tp.REQUEST)
    assert msg.get(tp.USERNAME) == b"evtj:h6vY"
    assert msg.get(tp.SOFTWARE) == b"STUN test client"


def test_response_vectors():
    for raw, want in ((RESPONSE_V4, ("192.0.2.1", 32853)),
                      (RESPONSE_V6, ("2001:db8:1234:5678:11:2233:4455:6677", 32853))):
        assert tp.check_integrity(raw, REQUEST_PASSWORD)
        assert tp.check_fingerprint(raw)
        msg = tp.decode(raw)
        assert (msg.method, msg.cls) == (tp.BINDING, tp.SUCCESS)
        assert tp.parse_xor_address(msg.get(tp.XOR_MAPPED_ADDRESS), msg.txid) == want
        # and the encoder gives back the same attribute value
        assert tp.xor_address(*want, msg.txid) == msg.get(tp.XOR_MAPPED_ADDRESS)


def test_encoder_reproduces_the_v4_response():
    msg = tp.decode(RESPONSE_V4)
    attrs = [(t, v) for t, v in msg.attrs if t not in (tp.MESSAGE_INTEGRITY, tp.FINGERPRINT)]
    # SOFTWARE "test vector " is 11 bytes padded with a space in the RFC's sample
    body = b"".join(tp.struct.pack("!HH", t, len(v)) + v + b" " * (-len(v) % 4) for t, v in attrs)
    prefix = tp.HEADER.pack(msg.mtype, len(body), tp.MAGIC_COOKIE, msg.txid) + body
    assert tp._integrity(prefix, REQUEST_PASSWORD) == msg.get(tp.MESSAGE_INTEGRITY)


def test_encode_decode_round_trip_with_integrity():
    key = tp.long_term_key("user", "realm.test", "pass")
    raw = tp.encode(tp.message_type(tp.ALLOCATE, tp.REQUEST), TXID,
                    [(tp.REQUESTED_TRANSPORT, bytes([17, 0, 0, 0])), (tp.USERNAME, b"user")],
                    key=key)
    msg = tp.decode(raw)
    assert (msg.method, msg.cls) == (tp.ALLOCATE, tp.REQUEST)
    assert msg.get(tp.USERNAME) == b"user"
    assert tp.check_integrity(raw, key) and tp.check_fingerprint(raw)
    tampered = raw[:-12] + bytes([raw[-12] ^ 1]) + raw[-11:]
    assert not tp.check_fingerprint(tampered)


def test_message_types():
    assert tp.message_type(tp.BINDING, tp.REQUEST) == 0x0001
    assert tp.message_type(tp.BINDING, tp.SUCCESS) == 0x0101
    assert tp.message_type(tp.ALLOCATE, tp.REQUEST) == 0x0003
    assert tp.message_type(tp.ALLOCATE, tp.ERROR) == 0x0113
    assert tp.message_type(tp.CREATE_PERMISSION, tp.REQUEST) == 0x0008
    assert tp.message_type(tp.CREATE_PERMISSION, tp.ERROR) == 0x0118
    for method in (tp.BINDING, tp.ALLOCATE, tp.REFRESH, tp.CREATE_PERMISSION):
        for cls in (tp.REQUEST, tp.INDICATION, tp.SUCCESS, tp.ERROR):
            assert tp.split_type(tp.message_type(method, cls)) == (method, cls)


def test_error_code():
    value = tp.error_code_value(403, "Forbidden IP")
    assert tp.parse_error_code(value) == (403, "Forbidden IP")
    assert tp.parse_error_code(tp.error_code_value(401, "Unauthorized"))[0] == 401


def test_rest_credentials():
    user, password = tp.rest_credentials("s3cret", "alice", ttl=3600, now=1_700_000_000)
    assert user == "1700003600:alice"
    want = base64.b64encode(hmac.new(b"s3cret", user.encode(), hashlib.sha1).digest()).decode()
    assert password == want


def test_long_term_key():
    assert tp.long_term_key("u", "r", "p") == hashlib.md5(b"u:r:p").digest()
