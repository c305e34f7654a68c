#!/usr/bin/env bash
# The browser the UI tests (tests/test_browser.py) drive: Debian's Chromium, and the Playwright
# Python package that drives it. Playwright's own browser download (`playwright install`) is not
# used: it fetches a build from outside the package registries.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q chromium
fi
python3 -m pip install --quiet --root-user-action=ignore "$(grep -oE '^playwright==[^ #]+' requirements-dev.txt)"
/usr/bin/chromium --version
