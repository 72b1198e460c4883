#!/usr/bin/env bash
# Runs each fuzz target for a bounded time (default 60 s each), keeping what the
# fuzzer finds in corpus/<target>/ (replayed on stable by tests/fuzz_corpus.rs).
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# A crash stops the script with libFuzzer's report and the input saved under
# artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
for target in frames handshakes messages; do
  mkdir -p "fuzz/corpus/$target"
  echo "== fuzz $target for $seconds s"
  cargo +nightly fuzz run "$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -max_len=4096 -print_final_stats=1
done
