#!/usr/bin/env bash
# Install the Debian packages that sarhad's tests need, but only those that are missing.
#
#   postgresql        throw-away test server (scripts/test-postgres.sh)
#   chromium          headless browser driven by Playwright in tests/e2e (executable /usr/bin/chromium)
#   chromium-driver   WebDriver for the same browser (tools that prefer it over Playwright)
#   fonts-noto-core   glyphs for Urdu and Persian pages: Noto Naskh Arabic, Noto Nastaliq Urdu,
#                     Noto Sans Arabic (fonts-noto-extra adds nothing for these scripts)
#   poppler-utils     pdftoppm and pdftotext: the report PDF tests render the Urdu and Persian reports to PNG
#                     and read their text back
#   python3-venv      `python3 -m venv` on Debian's own python3 (the venv needs ensurepip)
#   haproxy           the reverse proxy in front of a node's processes in `make cluster` and `make soak`
#                     (docs/operations.md, "Several processes on one PostgreSQL")
#   npm               the npm client that fetches the front-end assets (scripts/vendor-assets.py); only when
#                     no npm is on the PATH (a Node.js install of its own brings one)
#
# When everything is present this does not touch apt at all, so it is fast and works offline.
# Set SARHAD_SKIP_SYSTEM_DEPS=1 to skip it entirely (e.g. on a non-Debian developer machine).
set -euo pipefail

if [[ "${SARHAD_SKIP_SYSTEM_DEPS:-}" == 1 ]]; then
    echo "install-system-deps: skipped (SARHAD_SKIP_SYSTEM_DEPS=1)"
    exit 0
fi

# package name -> a file that proves the package is usable
declare -A PROBES=(
    [postgresql]="/usr/lib/postgresql/*/bin/initdb"
    [chromium]="/usr/bin/chromium"
    [chromium-driver]="/usr/bin/chromedriver"
    [fonts-noto-core]="/usr/share/fonts/truetype/noto/NotoNastaliqUrdu-Regular.ttf"
    [poppler-utils]="/usr/bin/pdftoppm"
    [python3-venv]="/usr/lib/python3*/ensurepip/__init__.py"
    [npm]="$(command -v npm || echo /usr/bin/npm)"
    [haproxy]="/usr/sbin/haproxy"
)

missing=()
for package in postgresql chromium chromium-driver fonts-noto-core poppler-utils python3-venv npm haproxy; do
    # shellcheck disable=SC2086 # the probe is a glob on purpose
    if ! compgen -G ${PROBES[$package]} >/dev/null; then
        missing+=("$package")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-system-deps: all present (postgresql, chromium, chromium-driver, fonts-noto-core, poppler-utils, python3-venv, npm, haproxy)"
    exit 0
fi

echo "install-system-deps: installing ${missing[*]}"
if ! command -v apt-get >/dev/null; then
    echo "install-system-deps: apt-get not found; install these yourself: ${missing[*]}" >&2
    echo "  (or set SARHAD_SKIP_SYSTEM_DEPS=1 to skip this check)" >&2
    exit 1
fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        sudo_cmd=(sudo -n)
    else
        echo "install-system-deps: not root and no password-less sudo; run as root:" >&2
        echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
apt_options=(-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
"${sudo_cmd[@]}" apt-get update -q </dev/null
"${sudo_cmd[@]}" apt-get install "${apt_options[@]}" --no-install-recommends "${missing[@]}" </dev/null

for package in "${missing[@]}"; do
    # shellcheck disable=SC2086
    if ! compgen -G ${PROBES[$package]} >/dev/null; then
        echo "install-system-deps: $package installed but ${PROBES[$package]} is still missing" >&2
        exit 1
    fi
done
echo "install-system-deps: done"
