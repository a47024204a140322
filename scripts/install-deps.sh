#!/usr/bin/env bash
# Installs what the lab and the tests need on a Debian machine (run as root).
set -euo pipefail
packages=(openssh-server openssh-client mariadb-server mariadb-client nginx cron rsync tini nftables
          iproute2 curl sudo util-linux procps ca-certificates openssl default-jre-headless
          systemd-container debootstrap)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v go >/dev/null 2>&1 && [ ! -x /usr/local/go/bin/go ]; then
  echo "Go is missing: install Go 1.26+ (go.mod asks for it), e.g. in /usr/local/go" >&2
  exit 1
fi
