# shellcheck shell=bash
# Sourced by .ci/run (and by developers before the dashboard's browser tests): Debian's Chromium
# and its ChromeDriver, installed from Debian's packages when missing (the browser Playwright or
# Selenium would download cannot be fetched here). Exports:
#   APIKEY_CHROMEDRIVER  the chromedriver binary (the tests start it on a free port)
#   APIKEY_CHROMIUM      the browser it drives
# Returns non-zero when they cannot be installed; under CI=true the browser tests then fail.

_apikey_browser() {
  if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    echo "browser: installing chromium and chromium-driver (Debian)" >&2
    local sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    $sudo apt-get install -y --no-install-recommends chromium chromium-driver >/dev/null 2>&1 ||
      { $sudo apt-get update >/dev/null 2>&1 &&
        $sudo apt-get install -y --no-install-recommends chromium chromium-driver >/dev/null 2>&1; } ||
      return 1
  fi
  APIKEY_CHROMEDRIVER=$(command -v chromedriver)
  APIKEY_CHROMIUM=$(command -v chromium)
  export APIKEY_CHROMEDRIVER APIKEY_CHROMIUM
  echo "browser: $("$APIKEY_CHROMIUM" --version 2>/dev/null) with $APIKEY_CHROMEDRIVER" >&2
}

_apikey_browser
