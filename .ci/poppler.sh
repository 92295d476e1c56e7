# shellcheck shell=bash
# Sourced by .ci/run (and by developers before the report tests): poppler's command-line tools,
# the PDF reader the report tests check our PDFs with (text extraction, page count, rendering),
# installed from Debian's poppler-utils when missing. Exports:
#   APIKEY_PDFTOTEXT  pdftotext (the text of every page)
#   APIKEY_PDFINFO    pdfinfo (page count, title)
#   APIKEY_PDFTOPPM   pdftoppm (a page as PNG: the picture in docs/)
# Returns non-zero when they cannot be installed; under CI=true the PDF tests then fail.

_apikey_poppler() {
  if ! command -v pdftotext >/dev/null 2>&1 || ! command -v pdftoppm >/dev/null 2>&1; then
    echo "poppler: installing poppler-utils (Debian)" >&2
    local sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    $sudo apt-get install -y --no-install-recommends poppler-utils >/dev/null 2>&1 ||
      { $sudo apt-get update >/dev/null 2>&1 &&
        $sudo apt-get install -y --no-install-recommends poppler-utils >/dev/null 2>&1; } ||
      return 1
  fi
  APIKEY_PDFTOTEXT=$(command -v pdftotext)
  APIKEY_PDFINFO=$(command -v pdfinfo)
  APIKEY_PDFTOPPM=$(command -v pdftoppm)
  export APIKEY_PDFTOTEXT APIKEY_PDFINFO APIKEY_PDFTOPPM
  echo "poppler: $("$APIKEY_PDFINFO" -v 2>&1 | head -1)" >&2
}

_apikey_poppler
