# shellcheck shell=bash
# Sourced by .ci/run (and by developers before the tests): Python tools the contract tests run
# against our output, implementations we did not write. Installed from PyPI into a cached
# virtual environment; exports where each is:
#   APIKEY_OPENAPI_VALIDATOR  openapi-spec-validator (the quick start's OpenAPI document)
#   APIKEY_HTTPSIG_PYTHON     the venv's python, with http-message-signatures (RFC 9421 interop)
#                             and requests (the HTTP client that sends Python-signed requests)
#   APIKEY_PROMETHEUS_PYTHON  the venv's python, with prometheus-client (parses /metrics)
#   APIKEY_SCHEMATHESIS       schemathesis' `st` (the key service's contract test), pinned, in a
#                             venv of its own (its jsonschema must not move the validator's)
# Returns non-zero when a tool cannot be installed; under CI=true the tests that need a tool
# fail when its variable is missing.

_apikey_py_tools=$HOME/.cache/apikey/py-tools

_apikey_python_tools() {
  if [ ! -x "$_apikey_py_tools/bin/python" ]; then
    echo "python-tools: creating $_apikey_py_tools" >&2
    python3 -m venv "$_apikey_py_tools" || return 1
  fi
  if [ ! -x "$_apikey_py_tools/bin/openapi-spec-validator" ]; then
    echo "python-tools: installing openapi-spec-validator" >&2
    "$_apikey_py_tools/bin/pip" install --quiet 'openapi-spec-validator>=0.7,<0.9' || return 1
  fi
  export APIKEY_OPENAPI_VALIDATOR="$_apikey_py_tools/bin/openapi-spec-validator"
  echo "python-tools: openapi-spec-validator at $APIKEY_OPENAPI_VALIDATOR" >&2
  if ! "$_apikey_py_tools/bin/python" -c 'import http_message_signatures, requests' 2>/dev/null; then
    echo "python-tools: installing http-message-signatures and requests" >&2
    "$_apikey_py_tools/bin/pip" install --quiet 'http-message-signatures>=3,<4' 'requests>=2.31,<3' || return 1
  fi
  export APIKEY_HTTPSIG_PYTHON="$_apikey_py_tools/bin/python"
  echo "python-tools: http-message-signatures and requests in $APIKEY_HTTPSIG_PYTHON" >&2
  if ! "$_apikey_py_tools/bin/python" -c 'import prometheus_client' 2>/dev/null; then
    echo "python-tools: installing prometheus-client" >&2
    "$_apikey_py_tools/bin/pip" install --quiet 'prometheus-client>=0.20,<1' || return 1
  fi
  export APIKEY_PROMETHEUS_PYTHON="$_apikey_py_tools/bin/python"
  echo "python-tools: prometheus-client (the text format's parser) in $APIKEY_PROMETHEUS_PYTHON" >&2
  local st_venv=$HOME/.cache/apikey/schemathesis-4.32.5
  if [ ! -x "$st_venv/bin/st" ]; then
    echo "python-tools: installing schemathesis 4.32.5 into $st_venv" >&2
    python3 -m venv "$st_venv" || return 1
    "$st_venv/bin/pip" install --quiet 'schemathesis==4.32.5' || return 1
  fi
  export APIKEY_SCHEMATHESIS="$st_venv/bin/st"
  echo "python-tools: schemathesis at $APIKEY_SCHEMATHESIS" >&2
}

_apikey_python_tools
