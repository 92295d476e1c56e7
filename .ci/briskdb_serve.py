"""Serve a BriskDB database on the MongoDB wire protocol until killed (the test MongoDB of CI).

Usage: briskdb_serve.py DATA_DIR HOST:PORT

BriskDB (PyPI `briskdb==0.1.0b3`) is the MongoDB-wire server that runs on these machines; see
crates/apikey-mongodb/README.md for its limits. Nothing else is started: no admin listener.
"""

import signal
import sys
import threading

import briskdb


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit("usage: briskdb_serve.py DATA_DIR HOST:PORT")
    path, addr = sys.argv[1], sys.argv[2]
    db = briskdb.open(path, shards=2, documents=True)
    server = db.serve(mongo=addr, admin=None)
    print(f"briskdb serving mongodb://{addr} from {path}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    close = getattr(server, "close", None)
    if close is not None:
        close()


if __name__ == "__main__":
    main()
