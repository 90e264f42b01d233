#!/usr/bin/env bash
# Installs what the project needs beyond npm packages, idempotently: safe to run again and again.
#   - Debian `chromium` for the real-browser check of the rendered docs (spec/docs.browser.test.ts);
#   - Debian `wrk` for `npm run bench:load`.
# Run as root (CI and the dev machines are), or it prints the exact command to run and fails.
set -euo pipefail

APT_PACKAGES=(chromium wrk)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "setup: run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing Debian packages: ${missing[*]} (apt-get update first)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

test -x /usr/bin/chromium || { echo "setup: /usr/bin/chromium not found after install" >&2; exit 1; }
echo "setup: system packages ready (${APT_PACKAGES[*]})"
