#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests when it is missing (as root, via apt-get).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "setup-browser: /usr/bin/chromium missing and not root; browser tests will be skipped" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q chromium >/dev/null
