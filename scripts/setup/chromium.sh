#!/usr/bin/env bash
# Runs before `npm test` (npm's pretest): the browser tests (test/web/) drive Debian's Chromium and
# fail, never skip, without it. They use Debian's headless shell (chromium-headless-shell: the same
# Chromium build without the browser's user interface; test/web/chromium.ts), else Debian's
# Chromium. Installs the headless shell with apt when it is missing and we may; otherwise says what
# to do. CHROMIUM_PATH names another Chromium.
set -euo pipefail
shell=/usr/bin/chromium-headless-shell
full=/usr/bin/chromium
if [ -n "${CHROMIUM_PATH:-}" ]; then
  if [ -x "$CHROMIUM_PATH" ]; then
    exit 0
  fi
  echo "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable" >&2
  exit 1
fi
if [ -x "$shell" ]; then
  exit 0
fi
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "installing Chromium's headless shell for the browser tests (apt-get install chromium-headless-shell)…" >&2
  if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium-headless-shell >/dev/null; then
    exit 0
  fi
fi
if [ -x "$full" ]; then
  echo "The browser tests run in $full: $shell (Debian: apt-get install -y chromium-headless-shell) takes less CPU." >&2
  exit 0
fi
echo "The browser tests need Chromium at $shell or $full: install it (Debian: sudo apt-get install -y chromium-headless-shell) or set CHROMIUM_PATH." >&2
exit 1
