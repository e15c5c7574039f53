#!/usr/bin/env bash
# Make sure MariaDB server binaries exist for the tests' throwaway server.
# Installs Debian's mariadb-server when running as root; otherwise says what to install.
# Never starts, stops or reconfigures a MariaDB the machine already runs.
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }

if have mariadbd && have mariadb-install-db; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "MariaDB server binaries missing: installing mariadb-server with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d keeps the package from starting a system server we do not need.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get install -y -qq --no-install-recommends mariadb-server >/dev/null
  exit 0
fi
echo "error: MariaDB server binaries (mariadbd, mariadb-install-db) are not installed." >&2
echo "Install them with: sudo apt-get update && sudo apt-get install -y mariadb-server" >&2
exit 1
