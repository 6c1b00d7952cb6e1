#!/usr/bin/env bash
# Installs Debian's dovecot-imapd for the IMAP tests when it is missing (as root, via apt-get).
set -euo pipefail
if [ -x /usr/sbin/dovecot ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "setup-dovecot: /usr/sbin/dovecot missing and not root; IMAP tests will be skipped" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q dovecot-imapd >/dev/null
