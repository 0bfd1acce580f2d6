#!/usr/bin/env bash
# Installs the Debian 12 packages nautilus needs to build, test and benchmark.
# Idempotent: when everything is present it returns in well under a second.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  catch2 nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  libhiredis-dev libtomlplusplus-dev libsystemd-dev libcurl4-openssl-dev
  libboost-dev libconcurrentqueue-dev libssl-dev openssl
  redis-server redis-tools nats-server libnats-dev
  python3-redis python3-websockets
  man-db groff-base bash-completion zsh fish jq linux-perf systemd
  prometheus
  libsqlite3-dev sqlite3 libpq-dev postgresql-15
  chromium
)
# The dashboard's build (web/, scripts/build-web.sh): the machine's Node.js and
# npm when present, else Debian's.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The distribution's redis-server starts a system instance on :6379 on install;
# the tests start their own on free ports and never use it.
exit 0
