#!/usr/bin/env bash
# Installs what Dawn (npm `webgpu`) needs to find an adapter on a machine with
# no GPU: the Vulkan loader plus Mesa's lavapipe (software Vulkan), and the
# EGL/GL ES pieces for Dawn's OpenGL ES compatibility adapter.
#
# Mesa 25 from Debian's bookworm-backports gives a full Vulkan adapter
# (shader-f16, subgroups, timestamp queries). Debian 12's own Mesa 22 lacks a
# Vulkan feature Dawn needs, so when backports cannot be reached we fall back
# to it and Dawn only offers the GL ES compatibility adapter.
set -euo pipefail

sudo_if_needed() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
export DEBIAN_FRONTEND=noninteractive

sources=/etc/apt/sources.list.d/debian.sources
backports=/etc/apt/sources.list.d/gradlab-bookworm-backports.sources
if [ -f "$sources" ] && [ ! -f "$backports" ]; then
  # Copy the first stanza (the main archive, not the security one) and point
  # it at bookworm-backports; keeps whatever mirror/snapshot the machine uses.
  awk 'BEGIN{RS=""; ORS="\n\n"} NR==1 { sub(/Suites:[^\n]*/, "Suites: bookworm-backports"); print; exit }' \
    "$sources" | sudo_if_needed tee "$backports" >/dev/null
fi

sudo_if_needed apt-get update -qq
common=(libvulkan1 libegl1 libegl-mesa0 libgles2 libgbm1)
if sudo_if_needed apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers "${common[@]}" libegl-mesa0 libgl1-mesa-dri; then
  echo "install-software-gpu: Mesa from bookworm-backports (lavapipe Vulkan + GL ES)"
else
  echo "install-software-gpu: backports unavailable; using Debian 12 Mesa (GL ES compatibility adapter only)" >&2
  sudo_if_needed apt-get install -y -qq mesa-vulkan-drivers "${common[@]}" libgl1-mesa-dri
fi
