#!/usr/bin/env bash
# Runs every test on a fresh machine: builds the workspace, runs the Rust
# unit and end-to-end tests, then installs the official Azure SDK for Python
# into a local virtualenv (.tooling/venv) and runs the interop tests.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== build"
cargo build --workspace --locked --bins --tests
# The PKCS#11 module (a cdylib: --bins --tests does not link it); the
# Python interop suite loads it.
cargo build --locked -p azcloudhsm-pkcs11

echo "== Azurite (pinned in tests/azurite/package-lock.json; 3.35.0 is the last release for Node 20)"
azurite=.tooling/azurite
if ! cmp -s tests/azurite/package-lock.json "$azurite/package-lock.json" \
   || [ ! -x "$azurite/node_modules/.bin/azurite-blob" ]; then
  mkdir -p "$azurite"
  cp tests/azurite/package.json tests/azurite/package-lock.json "$azurite/"
  (cd "$azurite" && npm ci --no-audit --no-fund --loglevel=error)
fi

echo "== PKCS#11 clients (OpenSC pkcs11-tool, libp11's OpenSSL engine, SoftHSMv2 for the benchmark)"
pkcs11_packages=(opensc libengine-pkcs11-openssl softhsm2)
missing=()
for package in "${pkcs11_packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

echo "== OpenSSL 3 provider for PKCS#11 (pkcs11-provider: Debian 12 has it in bookworm-backports only)"
if ! dpkg -s pkcs11-provider >/dev/null 2>&1; then
  backports=/etc/apt/sources.list.d/bookworm-backports.list
  if [ ! -f "$backports" ] && grep -q '^VERSION_CODENAME=bookworm' /etc/os-release; then
    echo "deb http://deb.debian.org/debian bookworm-backports main" > "$backports"
  fi
  apt-get update -qq
  # Backports are pinned low: only this package comes from them.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports pkcs11-provider >/dev/null
fi

echo "== Rust tests (unit + end-to-end)"
# The end-to-end tests start the binary cargo test has just built.
CLOUDHSM_EMULATOR_BIN="$PWD/target/debug/cloudhsm-emulator" cargo test --workspace --locked

echo "== Python SDK interop tests"
venv=.tooling/venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/interop/requirements.txt

echo "== Azure CLI (pinned in tests/interop/az-requirements.txt, own virtualenv)"
az_venv=.tooling/az
if ! cmp -s tests/interop/az-requirements.txt "$az_venv/az-requirements.txt" \
   || [ ! -x "$az_venv/bin/az" ]; then
  python3 -m venv "$az_venv"
  "$az_venv/bin/pip" install --quiet --disable-pip-version-check -r tests/interop/az-requirements.txt
  cp tests/interop/az-requirements.txt "$az_venv/az-requirements.txt"
fi

echo "== schemathesis (pinned in tests/interop/schemathesis-requirements.txt, own virtualenv)"
st_venv=.tooling/schemathesis
if ! cmp -s tests/interop/schemathesis-requirements.txt "$st_venv/requirements.txt" \
   || [ ! -x "$st_venv/bin/st" ]; then
  python3 -m venv "$st_venv"
  "$st_venv/bin/pip" install --quiet --disable-pip-version-check -r tests/interop/schemathesis-requirements.txt
  cp tests/interop/schemathesis-requirements.txt "$st_venv/requirements.txt"
fi

echo "== Interop tests (Python SDK and az CLI)"
CLOUDHSM_EMULATOR_BIN="$PWD/target/debug/cloudhsm-emulator" \
  AZ_CLI="$PWD/$az_venv/bin/az" \
  "$venv/bin/python" -m pytest tests/interop -q -p no:cacheprovider

echo "== Fuzz targets: seeds and past crashes replayed, then a short run each (bash fuzz/run.sh 600 for a long one)"
# Unoptimised and without ASan: the build is the cost of a smoke run.
FUZZ_PROFILE="${FUZZ_PROFILE:-dev}" FUZZ_SANITIZER="${FUZZ_SANITIZER:-none}" bash fuzz/run.sh "${FUZZ_SECONDS:-5}"
