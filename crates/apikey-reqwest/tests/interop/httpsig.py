"""RFC 9421 signing and verification with the `http-message-signatures` package (PyPI), an
implementation apikey did not write, for apikey-reqwest's interop tests.

    httpsig.py send   KEY_B64 KEYID METHOD URL BODY_B64 NONCE [SENT_BODY_B64]
        Builds the request with `requests`, adds Content-Digest and signs it, sends it twice (the
        second time is a replay) and prints {"status": [first, second], "body": first answer's
        body, base64}. With SENT_BODY_B64 the request is signed for BODY but sent with SENT_BODY.
    httpsig.py verify KEY_B64 KEYID METHOD URL BODY_B64 HEADERS_JSON
        Exit 0 and print the signature's parameters if the headers carry a valid signature of
        this request, exit 1 otherwise.
"""

import base64
import datetime
import json
import sys

import requests
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    InvalidSignature,
    MappingKeyResolver,
    algorithms,
)
from http_message_signatures.structures import CaseInsensitiveDict

COVERED = ("@method", "@authority", "@path", "@query")


class Message:
    def __init__(self, method, url, headers):
        self.method = method
        self.url = url
        self.headers = CaseInsensitiveDict(headers)


def send(resolver, keyid, method, url, body, nonce, sent_body):
    request = requests.Request(method, url, data=body, headers={"content-type": "application/json"})
    prepared = request.prepare()
    covered = COVERED + ("content-digest",) if body else COVERED
    # `body=` makes the package write Content-Digest (RFC 9530, sha-256) itself.
    HTTPMessageSigner(signature_algorithm=algorithms.HMAC_SHA256, key_resolver=resolver).sign(
        prepared,
        key_id=keyid,
        created=datetime.datetime.now(datetime.timezone.utc),
        nonce=nonce,
        covered_component_ids=covered,
        body=body if body else None,
    )
    if sent_body is not None:
        prepared.body = sent_body
        prepared.headers["Content-Length"] = str(len(sent_body))
    with requests.Session() as session:
        first = session.send(prepared, timeout=10)
        replay = session.send(prepared, timeout=10)
    print(
        json.dumps(
            {
                "status": [first.status_code, replay.status_code],
                "body": base64.b64encode(first.content).decode(),
                "signature-input": prepared.headers["Signature-Input"],
            }
        )
    )
    return 0


def verify(resolver, method, url, body, headers):
    message = Message(method, url, headers)
    verifier = HTTPMessageVerifier(signature_algorithm=algorithms.HMAC_SHA256, key_resolver=resolver)
    try:
        results = verifier.verify(message, require_components=COVERED, body=body)
    except InvalidSignature as e:
        print(f"invalid: {e}", file=sys.stderr)
        return 1
    print(json.dumps([dict(r.parameters) for r in results]))
    return 0


def main(argv):
    command, key_b64, keyid, method, url, body_b64 = argv[1:7]
    key = base64.b64decode(key_b64)
    body = base64.b64decode(body_b64)
    resolver = MappingKeyResolver(public_keys={keyid: key}, private_keys={keyid: key})
    if command == "send":
        sent_body = base64.b64decode(argv[8]) if len(argv) > 8 else None
        return send(resolver, keyid, method, url, body, argv[7], sent_body)
    if command == "verify":
        return verify(resolver, method, url, body, json.loads(argv[7]))
    print(f"unknown command {command}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
