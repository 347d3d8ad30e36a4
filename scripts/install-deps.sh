#!/usr/bin/env bash
# Installs what Petrel needs to build and test on Debian 12, from Debian's
# packages only. Idempotent: packages already present are not touched, and
# apt-get runs only when something is missing.
set -euo pipefail

build_pkgs=(
  build-essential cmake ninja-build ccache pkg-config
  libboost-dev libboost-system-dev libssl-dev
  librocksdb-dev libtomlplusplus-dev libspdlog-dev libfmt-dev libcli11-dev
  libgtest-dev libgmock-dev
  libgsasl-dev libargon2-dev libcrypt-dev libidn2-dev
  libunbound-dev nlohmann-json3-dev libedit-dev libkainjow-mustache-dev libpsl-dev publicsuffix
  libhiredis-dev  # Redis client for [cluster]; petreld then needs libhiredis0.14 at run time
)
test_pkgs=(
  python3 python3-pytest swaks postfix netcat-openbsd procps
  clang-14 libclang-rt-14-dev clang-tidy
  gsasl
  dnsmasq-base
  redis-server
  openssl nmap testssl.sh argon2 libnet-ssleay-perl libio-socket-ssl-perl python3-aiosmtpd
  dovecot-core dovecot-lmtpd tmux nftables
  fetchmail
  python3-dkim python3-authres opendkim opendkim-tools
  nsd ldnsutils
  prometheus
  chromium chromium-driver python3-selenium
  bsd-mailx mailutils git-email libmailtools-perl php-cli
)

want=("${build_pkgs[@]}")
if [[ "${1:-}" != "--build-only" ]]; then
  want+=("${test_pkgs[@]}")
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# Postfix asks how it should be configured; a local-only install keeps it from
# touching the network. Its own daemon is not started by our tests (smtp-source
# and smtp-sink are standalone programs), only by the benchmark.
echo "postfix postfix/main_mailer_type select Local only" | $SUDO debconf-set-selections
echo "postfix postfix/mailname string petrel.test" | $SUDO debconf-set-selections
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
