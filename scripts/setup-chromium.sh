#!/usr/bin/env bash
# Installs Debian's `chromium` for the browser test (test/browser/browser.test.ts), which
# drives it headless with playwright-core; SwiftShader, bundled with it, is its WebGPU
# adapter on a machine without a GPU. Idempotent: does nothing when /usr/bin/chromium is
# there. Never fails the build: without Chromium the browser tests skip, printing why.
set -uo pipefail

if [[ -x /usr/bin/chromium ]]; then
  echo "setup-chromium: $(/usr/bin/chromium --version 2>/dev/null | head -1)"
  exit 0
fi
if [[ "$(uname -s)" != Linux ]] || ! command -v apt-get >/dev/null; then
  echo "setup-chromium: no apt-get here; the browser tests will skip (or set PROJC_CHROMIUM)"
  exit 0
fi
SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null; then SUDO=(sudo); else
    echo "setup-chromium: need root to install chromium; the browser tests will skip"
    exit 0
  fi
fi
echo "setup-chromium: installing chromium"
export DEBIAN_FRONTEND=noninteractive
if ! { "${SUDO[@]}" apt-get update -qq && "${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium; }; then
  echo "setup-chromium: apt-get install chromium failed; the browser tests will skip"
fi
exit 0
