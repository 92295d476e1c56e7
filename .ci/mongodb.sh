# shellcheck shell=bash
# Sourced by .ci/run after the other services: provides APIKEY_TEST_MONGODB_URL for the
# apikey-mongodb tests. With the variable already set (a real MongoDB), nothing happens.
# Otherwise BriskDB (a MongoDB-wire server from PyPI, the one that runs on these machines) is
# installed into a cached virtual environment and started on 127.0.0.1:27018 (its data in a fresh
# temporary directory, stopped when the sourcing shell exits). Returns non-zero, with the server's
# log, when it does not answer within 60 s.

_apikey_briskdb_venv=$HOME/.cache/apikey/briskdb-venv
_apikey_briskdb_port=27018

# _apikey_briskdb_up: whether something accepts TCP connections on the BriskDB port.
_apikey_briskdb_up() {
  "$_apikey_briskdb_venv/bin/python" - "$_apikey_briskdb_port" <<'PY' 2>/dev/null
import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
PY
}

_apikey_briskdb() {
  if [ ! -x "$_apikey_briskdb_venv/bin/python" ]; then
    echo "mongodb: creating $_apikey_briskdb_venv" >&2
    python3 -m venv "$_apikey_briskdb_venv" || return 1
  fi
  if ! "$_apikey_briskdb_venv/bin/python" -c 'import briskdb' 2>/dev/null; then
    echo "mongodb: installing briskdb into $_apikey_briskdb_venv" >&2
    "$_apikey_briskdb_venv/bin/pip" install --quiet 'briskdb==0.1.0b3' || return 1
  fi
  if _apikey_briskdb_up; then
    echo "mongodb: reusing the server already on 127.0.0.1:$_apikey_briskdb_port" >&2
    return 0
  fi
  local dir launcher pid i
  dir=$(mktemp -d "${TMPDIR:-/tmp}/apikey-briskdb.XXXXXX") || return 1
  launcher="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/briskdb_serve.py"
  "$_apikey_briskdb_venv/bin/python" "$launcher" "$dir/data" "127.0.0.1:$_apikey_briskdb_port" \
    >"$dir/server.log" 2>&1 &
  pid=$!
  echo "mongodb: started briskdb (pid $pid, data and log in $dir)" >&2
  # shellcheck disable=SC2064 # the pid is fixed now
  trap "kill $pid 2>/dev/null || true" EXIT
  for i in $(seq 120); do
    _apikey_briskdb_up && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  echo "mongodb: briskdb is not answering on 127.0.0.1:$_apikey_briskdb_port; its log:" >&2
  cat "$dir/server.log" >&2
  kill "$pid" 2>/dev/null || true
  return 1
}

if [ -z "${APIKEY_TEST_MONGODB_URL:-}" ]; then
  _apikey_briskdb || return 1
  APIKEY_TEST_MONGODB_URL=mongodb://127.0.0.1:$_apikey_briskdb_port
  export APIKEY_TEST_MONGODB_URL
fi
echo "mongodb: $APIKEY_TEST_MONGODB_URL"
