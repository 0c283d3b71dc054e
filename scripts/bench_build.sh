#!/usr/bin/env bash
# Build times from scratch, with the default features and without, the dist binary's size,
# and the test build: each in a target folder of its own, made empty first.
# Usage: scripts/bench_build.sh [target folder, default /tmp/kling-tui-bench-target]
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-/tmp/kling-tui-bench-target}

fresh() {
    rm -rf "$target"
}
timed() {
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" 'BEGIN { print b - a }'
}
# Everything downloaded first, so the network does not count.
cargo fetch >/dev/null

fresh
with=$(timed cargo build --release --target-dir "$target")
size_release=$(stat -c %s "$target/release/kling-tui")
fresh
without=$(timed cargo build --release --no-default-features --target-dir "$target")
size_without=$(stat -c %s "$target/release/kling-tui")
fresh
dist=$(timed cargo build --profile dist --target-dir "$target")
size_dist=$(stat -c %s "$target/dist/kling-tui")
fresh
tests=$(timed cargo test --workspace --no-run --target-dir "$target")
fresh

mib() { awk -v n="$1" 'BEGIN { printf "%.1f MiB (%.1f MB)", n / 1048576, n / 1000000 }'; }
printf '| release build, default features (demo, preview) | %.0f s | %s |\n' "$with" "$(mib "$size_release")"
printf '| release build, --no-default-features | %.0f s (%.0f %% less time; %.2f× the speed) | %s |\n' "$without" \
    "$(awk -v a="$with" -v b="$without" 'BEGIN { print 100 * (a - b) / a }')" \
    "$(awk -v a="$with" -v b="$without" 'BEGIN { print a / b }')" "$(mib "$size_without")"
printf '| dist build (fat LTO, one codegen unit, stripped), default features | %.0f s | %s |\n' "$dist" "$(mib "$size_dist")"
printf '| cargo test --workspace --no-run (every test built) | %.0f s | |\n' "$tests"
