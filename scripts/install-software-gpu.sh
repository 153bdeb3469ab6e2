#!/usr/bin/env bash
# Installs what Dawn (npm `webgpu`) needs to find an adapter on a machine with
# no GPU: the Vulkan loader plus Mesa's lavapipe (software Vulkan), and the
# EGL/GL ES pieces for Dawn's OpenGL ES compatibility adapter.
#
# Mesa 25 from Debian's bookworm-backports gives a full Vulkan adapter
# (shader-f16, subgroups, timestamp queries). Debian 12's own Mesa 22 lacks a
# Vulkan feature Dawn needs, so when backports cannot be reached we fall back
# to it and Dawn only offers the GL ES compatibility adapter.
#
# Runs as root (CI) or through sudo; safe to run twice; exits non-zero only
# when not even the fallback could be installed.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt() { as_root env DEBIAN_FRONTEND=noninteractive apt-get "$@"; }

sources=/etc/apt/sources.list.d/debian.sources
legacy=/etc/apt/sources.list
backports=/etc/apt/sources.list.d/gradlab-bookworm-backports.sources
backports_legacy=/etc/apt/sources.list.d/gradlab-bookworm-backports.list

add_backports() {
  if [ -f "$backports" ] || [ -f "$backports_legacy" ]; then return 0; fi
  if [ -f "$sources" ]; then
    # deb822: copy the main archive's stanza (Suites holds plain `bookworm`, not
    # bookworm-security), keeping its mirror or snapshot and signing key.
    local stanza
    stanza=$(awk 'BEGIN { RS = ""; ORS = "\n" }
      /(^|\n)Suites:[^\n]*[[:space:]]bookworm([[:space:]]|\n|$)/ || /(^|\n)Suites:[[:space:]]*bookworm([[:space:]]|\n|$)/ {
        if ($0 ~ /Suites:[^\n]*security/) next
        sub(/Suites:[^\n]*/, "Suites: bookworm-backports"); print; exit
      }' "$sources")
    if [ -n "$stanza" ]; then
      printf '%s\n' "$stanza" | as_root tee "$backports" >/dev/null
      return 0
    fi
  fi
  if [ -f "$legacy" ]; then
    # One-line format: the first `deb <mirror> bookworm <components>` line.
    local line
    line=$(awk '$1 == "deb" && $3 == "bookworm" { $3 = "bookworm-backports"; print; exit }' "$legacy")
    if [ -n "$line" ]; then
      printf '%s\n' "$line" | as_root tee "$backports_legacy" >/dev/null
      return 0
    fi
  fi
  echo "install-software-gpu: no bookworm entry found in $sources or $legacy to derive backports from" >&2
  return 1
}

drop_backports() { as_root rm -f "$backports" "$backports_legacy"; }

common=(libvulkan1 libegl1 libegl-mesa0 libgles2 libgbm1 libgl1-mesa-dri mesa-vulkan-drivers)
mode=""
if add_backports && apt update -qq; then
  if apt install -y -qq -t bookworm-backports "${common[@]}"; then
    mode=backports
  fi
fi
if [ -z "$mode" ]; then
  echo "install-software-gpu: bookworm-backports unavailable; using Debian 12's Mesa (GL ES compatibility adapter only)" >&2
  drop_backports
  apt update -qq
  apt install -y -qq "${common[@]}"
  mode=debian12
fi

mesa=$(dpkg-query -W -f '${Version}' mesa-vulkan-drivers 2>/dev/null || echo unknown)
icd=$(ls /usr/share/vulkan/icd.d/lvp_icd*.json 2>/dev/null | head -n1 || true)
echo "install-software-gpu: Mesa $mesa ($mode); lavapipe ICD: ${icd:-missing}; EGL: $(ls /usr/lib/x86_64-linux-gnu/libEGL_mesa.so.0 2>/dev/null || echo missing)"
if [ "$mode" = backports ]; then
  echo "install-software-gpu: Dawn should offer the Vulkan (lavapipe) adapter and the GL ES adapter (EGL_PLATFORM=surfaceless)"
else
  echo "install-software-gpu: Dawn should offer the GL ES adapter (EGL_PLATFORM=surfaceless); Vulkan needs Mesa 25"
fi
