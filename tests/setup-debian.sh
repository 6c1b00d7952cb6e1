#!/usr/bin/env bash
# Installs the Debian packages the tests drive for real, when missing (as root, via apt-get).
# Usage: setup-debian.sh BINARY PACKAGE [BINARY PACKAGE ...]
#   e.g. setup-debian.sh /usr/bin/chromium chromium /usr/sbin/dovecot dovecot-imapd
set -euo pipefail
missing=()
while [ $# -ge 2 ]; do
  [ -x "$1" ] || missing+=("$2")
  shift 2
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "setup-debian: missing ${missing[*]} and not root; the tests that need them will be skipped" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q "${missing[@]}" >/dev/null
