#!/bin/sh
# Installs what the browser tests need on Debian/Ubuntu: Chromium from the distribution.
set -eu
if command -v chromium >/dev/null 2>&1 || [ -n "${CHROME_PATH:-}" ]; then
  echo "Chromium is already available."
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "Run as root (sudo npm run setup) to install Debian's chromium, or set CHROME_PATH." >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "No apt-get here: install Chrome or Chromium yourself and set CHROME_PATH." >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-liberation
