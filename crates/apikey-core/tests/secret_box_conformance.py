#!/usr/bin/env python3
"""Checks the secret box's format against an implementation we did not write.

Python's `cryptography` (OpenSSL's AES-256-GCM) rebuilds the associated data from the format
description in docs/secret-box.md and, for every vector in data/secret_box_v1.json:
decrypts the sealed text to the plaintext, re-encrypts it under the same nonce to the very same
bytes, and fails to decrypt it for a neighbouring binding. The Rust test `opens_the_conformance_vectors`
(tests/secret_box.rs) opens the same vectors, one of which this script sealed (`--add-python-vector`).

Run: pip install cryptography && python3 crates/apikey-core/tests/secret_box_conformance.py
"""

import base64
import json
import os
import struct
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(HERE, "data", "secret_box_v1.json")


def aad(kek_id: str, owner: str, purpose: str) -> bytes:
    out = b"apikey secret-box" + bytes([1])
    for field in (kek_id, owner, purpose):
        raw = field.encode("utf-8")
        out += struct.pack(">Q", len(raw)) + raw
    return out


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def seal(key: bytes, kek_id: str, nonce: bytes, plaintext: bytes, owner: str, purpose: str) -> str:
    body = AESGCM(key).encrypt(nonce, plaintext, aad(kek_id, owner, purpose))
    return f"sb1.{kek_id}.{b64url(nonce)}.{b64url(body)}"


def check(v: dict) -> None:
    key = base64.b64decode(v["kek"])
    prefix, kek_id, nonce_text, body_text = v["sealed"].split(".")
    assert prefix == "sb1" and kek_id == v["kek_id"], v["source"]
    nonce, body = unb64url(nonce_text), unb64url(body_text)
    assert len(key) == 32 and len(nonce) == 12, v["source"]
    plaintext = v["plaintext"].encode("utf-8")
    gcm = AESGCM(key)
    assert gcm.decrypt(nonce, body, aad(kek_id, v["owner"], v["purpose"])) == plaintext, v["source"]
    assert seal(key, kek_id, nonce, plaintext, v["owner"], v["purpose"]) == v["sealed"], v["source"]
    for owner, purpose in ((v["owner"] + "x", v["purpose"]), (v["owner"], v["purpose"] + "x")):
        try:
            gcm.decrypt(nonce, body, aad(kek_id, owner, purpose))
        except InvalidTag:
            continue
        raise AssertionError(f"{v['source']}: opened for another binding")


def main() -> int:
    with open(VECTORS, encoding="utf-8") as f:
        doc = json.load(f)
    if "--add-python-vector" in sys.argv:
        key, nonce = bytes(range(32, 64)), bytes(range(12))
        v = {
            "source": "python cryptography AESGCM",
            "kek_id": "py1",
            "kek": base64.b64encode(key).decode("ascii"),
            "owner": "webhook_subscription:0190b5b2-7a1e-7c3d-9f00-000000000001",
            "purpose": "webhook-signing",
            "plaintext": "whsec_from_python",
        }
        v["sealed"] = seal(key, v["kek_id"], nonce, v["plaintext"].encode(), v["owner"], v["purpose"])
        doc["vectors"] = [x for x in doc["vectors"] if x["source"] != v["source"]] + [v]
        with open(VECTORS, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
    for v in doc["vectors"]:
        check(v)
    print(f"secret box conformance: {len(doc['vectors'])} vectors ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
