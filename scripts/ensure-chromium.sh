#!/usr/bin/env bash
# Makes sure Debian's Chromium is at /usr/bin/chromium for the real-browser test
# (test/node/browser-consent.test.ts). Idempotent: does nothing when it is already there.
# Never uses `playwright install` (browser downloads are blocked); apt only.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  echo "ensure-chromium: already installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "ensure-chromium: $CHROMIUM is missing and this user is not root and has no sudo; install the Debian package 'chromium' (apt-get install -y chromium) and run again" >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: $CHROMIUM is missing and apt-get is not available; install Chromium at $CHROMIUM (or set CHROMIUM_PATH for the test)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! "${SUDO[@]}" apt-get update >"$log" 2>&1 \
  || ! "${SUDO[@]}" apt-get install -y --no-install-recommends chromium >>"$log" 2>&1; then
  tail -n 20 "$log" >&2
  echo "ensure-chromium: could not install the Debian package 'chromium' with apt-get (output above)" >&2
  exit 1
fi

if [ ! -x "$CHROMIUM" ]; then
  tail -n 20 "$log" >&2
  echo "ensure-chromium: apt-get finished but $CHROMIUM is still missing" >&2
  exit 1
fi

echo "ensure-chromium: installed $("$CHROMIUM" --version 2>/dev/null || echo chromium) with apt-get"
