#!/usr/bin/env bash
# Installs what Dawn's Node bindings (the `webgpu` npm package) need to find a WebGPU
# adapter on a Linux machine without a GPU: Mesa's EGL and its llvmpipe OpenGL driver,
# which src/runtime/device.ts uses through Dawn's OpenGL backend (EGL_PLATFORM=surfaceless).
# Idempotent: does nothing when the packages are already there; runs `apt-get update`
# only when one is missing. See docs/webgpu-setup.md.
set -euo pipefail

# libegl-dev: Dawn dlopens the unversioned `libEGL.so`, a symlink only this package ships.
# libegl1: libglvnd's EGL loader behind it (libEGL.so.1).
# libegl-mesa0: Mesa's EGL vendor library (surfaceless platform).
# libgl1-mesa-dri: Mesa's drivers, llvmpipe among them (pulls in libllvm).
PACKAGES=(libegl-dev libegl1 libegl-mesa0 libgl1-mesa-dri)

if [[ "$(uname -s)" != Linux ]]; then
  echo "setup-webgpu: not Linux, nothing to install (Dawn uses Metal or D3D12 there)"
  exit 0
fi
if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
  echo "setup-webgpu: no dpkg/apt-get here; install Mesa's EGL + llvmpipe (${PACKAGES[*]}) by hand" >&2
  exit 0
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "setup-webgpu: ${PACKAGES[*]} already installed"
  exit 0
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null; then SUDO=(sudo); else
    echo "setup-webgpu: need root to install ${missing[*]}" >&2
    exit 1
  fi
fi
echo "setup-webgpu: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
