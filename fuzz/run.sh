#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 10: the CI's short run;
# give 600 or more for a long run), after replaying the committed seeds and
# every input that once crashed (fuzz/regressions/<target>/), so a crash
# found once is a test from then on.
#
#   bash fuzz/run.sh [SECONDS] [TARGET ...]
#
# New inputs libFuzzer finds go to fuzz/corpus/<target>/ (not committed).
# A crash leaves fuzz/artifacts/<target>/crash-*: fix it, then move that
# file into fuzz/regressions/<target>/ in the same commit.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-10}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^cloudhsm-fuzz$')
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked --version 0.13.2
fi
# cargo fuzz needs nightly compiler flags; without a nightly toolchain the
# stable one is told to accept them (the sanitizer runtime ships with it).
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  fuzz=(cargo +nightly fuzz)
else
  export RUSTC_BOOTSTRAP=1
  fuzz=(cargo fuzz)
fi

# FUZZ_PROFILE=dev FUZZ_SANITIZER=none: a quicker build for short smoke runs.
profile=(--release)
[ "${FUZZ_PROFILE:-release}" = dev ] && profile=(--dev)
flags=("${profile[@]}" --debug-assertions --sanitizer "${FUZZ_SANITIZER:-address}")
"${fuzz[@]}" build "${flags[@]}"
declare -A runs
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target" "regressions/$target" "artifacts/$target"
  dirs=("corpus/$target" "seeds/$target" "regressions/$target")
  case "$target" in
    bicep_parser) dirs+=(../bicep/templates ../bicep/templates/modules) ;;
    template_expressions) dirs+=(../bicep/templates) ;;
  esac
  log="artifacts/$target/last-run.log"
  if ! "${fuzz[@]}" run "${flags[@]}" "$target" "${dirs[@]}" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 40 "$log"
    echo "fuzz: $target FAILED (input in fuzz/artifacts/$target/)" >&2
    exit 1
  fi
  runs[$target]=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  echo "fuzz: $target: ${runs[$target]:-?} executions in ${seconds}s, no crash"
done
