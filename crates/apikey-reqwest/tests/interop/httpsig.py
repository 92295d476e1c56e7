"""RFC 9421 signing and verification with the `http-message-signatures` package (PyPI), an
implementation apikey did not write, for apikey-reqwest's interop tests.

    httpsig.py sign   KEY_B64 KEYID METHOD URL BODY_B64 NONCE   -> the signed headers as JSON
    httpsig.py verify KEY_B64 KEYID METHOD URL BODY_B64 HEADERS_JSON -> exit 0 if it verifies
"""

import base64
import datetime
import json
import sys

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


def main(argv):
    command, key_b64, keyid, method, url, body_b64 = argv[1:7]
    key = base64.b64decode(key_b64)
    body = base64.b64decode(body_b64)
    resolver = MappingKeyResolver(public_keys={keyid: key}, private_keys={keyid: key})
    if command == "sign":
        nonce = argv[7]
        message = Message(method, url, {"content-type": "application/json"})
        HTTPMessageSigner(signature_algorithm=algorithms.HMAC_SHA256, key_resolver=resolver).sign(
            message,
            key_id=keyid,
            created=datetime.datetime.now(datetime.timezone.utc),
            nonce=nonce,
            covered_component_ids=COVERED,
            body=body if body else None,
        )
        print(json.dumps(dict(message.headers.items())))
        return 0
    if command == "verify":
        message = Message(method, url, json.loads(argv[7]))
        verifier = HTTPMessageVerifier(signature_algorithm=algorithms.HMAC_SHA256, key_resolver=resolver)
        try:
            results = verifier.verify(message, require_components=COVERED, body=body)
        except InvalidSignature as e:
            print(f"invalid: {e}", file=sys.stderr)
            return 1
        print(json.dumps([dict(r.parameters) for r in results]))
        return 0
    print(f"unknown command {command}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
