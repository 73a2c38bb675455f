#!/usr/bin/env bash
# The non-LLM time of one round, Rust against Python: the hand-written reference of each target
# (`reference/unet-tch`, `reference/unet-torch-program`, served by the `reference` provider)
# through `harness generate`, alternating the targets, N times each; prints each round's build
# (Rust: the sandboxed warm build of a new crate; Python: the syntax and import check) and smoke
# run (one epoch on the smoke set, then a prediction per image) as the transcripts recorded them,
# with the load average, and the medians.
#
#   scripts/bench-round.sh [--rounds N] [--out DIR]
#
# Needs `harness setup --python` done (the Rust side provisions itself). Nothing here is a test:
# it prints what it measured. What it makes goes under --out (default: a new temporary folder).
set -euo pipefail

rounds=3 out=""
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) rounds="$2"; shift ;;
        --out) out="$2"; shift ;;
        -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench-round: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

repo=$(cd "$(dirname "$0")/.." && pwd)
out=${out:-$(mktemp -d -t bench-round.XXXXXX)}
mkdir -p "$out"
results="$out/results.txt"
: >"$results"
say() { echo "$*" | tee -a "$results"; }

echo "bench-round: results in $out" >&2
say "machine: $(nproc) cores, $(uname -m), load average $(cut -d' ' -f1-3 /proc/loadavg)"
say "harness commit: $(git -C "$repo" rev-parse --short HEAD)$(git -C "$repo" diff --quiet || echo ' (dirty)')"
(cd "$repo" && cargo build --locked --quiet)
harness="${CARGO_TARGET_DIR:-$repo/target}/debug/harness"

# "build_s run_s" of a one-round transcript's build and run events.
round_seconds() {
    python3 - "$1" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
found = {}
for doc in re.split(r"^---\n", text, flags=re.M):
    kind = re.search(r"^event: (build|run)$", doc, re.M)
    ms = re.search(r"^duration_ms: (\d+)$", doc, re.M)
    if kind and ms:
        found[kind.group(1)] = int(ms.group(1)) / 1000
if set(found) != {"build", "run"}:
    sys.exit(f"{sys.argv[1]}: no build and run event")
print(f"{found['build']:.2f} {found['run']:.2f}")
EOF
}

for target in rust-tch-unet python-torch-unet; do : >"$out/$target.txt"; done
for i in $(seq 1 "$rounds"); do
    for target in rust-tch-unet python-torch-unet; do
        runs="$out/runs-$target-$i" gen="$out/generated-$target-$i"
        load=$(cut -d' ' -f1 /proc/loadavg)
        "$harness" generate --llm reference --target "$target" --max-iterations 1 \
            --runs-dir "$runs" --generated-dir "$gen" >"$out/generate-$target-$i.log" 2>&1 || {
            echo "bench-round: $target round $i failed, see $out/generate-$target-$i.log" >&2
            exit 1
        }
        seconds=$(round_seconds "$(ls -d "$runs"/*/)transcript.yaml")
        echo "$seconds" >>"$out/$target.txt"
        say "$target $i: build ${seconds% *} s, smoke run ${seconds#* } s (load average $load)"
    done
done

median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
say ""
say "| target | build (median) | smoke run (median) | the two medians together |"
say "|---|---:|---:|---:|"
for target in rust-tch-unet python-torch-unet; do
    build=$(cut -d' ' -f1 "$out/$target.txt" | median)
    run=$(cut -d' ' -f2 "$out/$target.txt" | median)
    say "| $target | $build s | $run s | $(python3 -c "print(f'{$build + $run:.2f}')") s |"
done
