#!/usr/bin/env bash
# Measures the rust-tch-unet target and the reference U-Net on this machine; prints figures.
#
#   scripts/bench-unet.sh [--quick] [--only build|throughput|chase] [--no-cold]
#                         [--rounds N] [--epochs N] [--out DIR]
#
# 1. build: the per-iteration build of a new generated crate (the hand-written reference crate,
#    served by the `reference` provider through `harness generate`), warm (the shared,
#    pre-warmed target folder: only the crate compiles), three times, each a new crate folder;
#    then the naive cold build of the same crate with the same configuration into an empty
#    target folder (every dependency and torch-sys's C++ wrapper compiled again).
# 2. throughput: training images per second of the reference U-Net in tch (the program the
#    harness built in step 1, `bench` subcommand) against the same architecture in PyTorch
#    2.11.0 (`reference/unet-torch/unet.py`), alternating, on the same synthetic tensors' shape,
#    at 1 thread and at all cores, as a ratio tch / PyTorch. PyTorch goes into a virtual
#    environment in the harness's cache (about 4.6 GB from PyPI, once).
# 3. chase: `harness train` of the reference run on CHASE_DB1 (imported from
#    ../shared/datasets/chase_db1, or CHASE_DB1 as a path in the environment), with the held-out
#    Dice the harness computes and the wall time.
#
# Nothing here is a test: it prints what it measured. Everything it makes goes under --out
# (default: a new temporary folder), except the cache (HARNESS_CACHE, else ~/.cache/harness).
# For the GPU machine see scripts/gpu-bench.sh.
set -euo pipefail

quick=0 only="" cold=1 rounds=2 epochs="" out=""
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) quick=1 ;;
        --only) only="$2"; shift ;;
        --no-cold) cold=0 ;;
        --rounds) rounds="$2"; shift ;;
        --epochs) epochs="$2"; shift ;;
        --out) out="$2"; shift ;;
        -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench-unet: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
wants() { [ -z "$only" ] || [ "$only" = "$1" ]; }

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${HARNESS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/harness}
export HARNESS_CACHE=$cache
out=${out:-$(mktemp -d -t bench-unet.XXXXXX)}
mkdir -p "$out"
results="$out/results.txt"
: >"$results"
say() { echo "$*" | tee -a "$results"; }
now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$2"; }

if [ "$quick" = 1 ]; then
    size=128 batch=8 steps=8 warmup=2
else
    size=256 batch=8 steps=6 warmup=2
fi
cores=$(nproc)

echo "bench-unet: results in $out" >&2
say "machine: $(nproc) cores, $(uname -m), load average $(cut -d' ' -f1-3 /proc/loadavg)"
say "harness commit: $(git -C "$repo" rev-parse --short HEAD)$(git -C "$repo" diff --quiet || echo ' (dirty)')"

(cd "$repo" && cargo build --locked --quiet)
harness="${CARGO_TARGET_DIR:-$repo/target}/debug/harness"
"$harness" setup >&2

# Build durations of a transcript's build events, in seconds, one per line.
build_seconds() {
    python3 - "$1" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
for doc in re.split(r"^---\n", text, flags=re.M):
    if re.search(r"^event: build$", doc, re.M):
        ms = re.search(r"^duration_ms: (\d+)$", doc, re.M)
        ok = re.search(r"^success: (\w+)$", doc, re.M)
        print(f"{int(ms.group(1)) / 1000:.2f} {ok.group(1)}")
EOF
}

runs="$out/runs"
first_crate=""
run_dir=""
generate_reference() {
    local gen="$out/generated-$1"
    rm -rf "$gen"
    "$harness" generate --llm reference --target rust-tch-unet \
        --runs-dir "$runs" --generated-dir "$gen" >"$out/generate-$1.log" 2>&1 || {
        echo "bench-unet: harness generate failed, see $out/generate-$1.log" >&2
        exit 1
    }
    run_dir=$(ls -dt "$runs"/*/ | head -n1)
    first_crate=${first_crate:-$gen/rust-tch-unet/reference-r1}
}

if wants build || wants throughput || wants chase; then
    if wants build; then
        say ""
        say "## per-iteration build of a new generated crate (the reference crate, $(cat "$repo"/reference/unet-tch/src/*.rs | wc -l) lines)"
        for i in 1 2 3; do
            generate_reference "$i"
            say "warm build $i: $(build_seconds "$run_dir/transcript.yaml" | tr '\n' ' ')s (shared warm target; load average $(cut -d' ' -f1 /proc/loadavg))"
        done
        if [ "$cold" = 1 ]; then
            cold_crate="$out/cold-crate"
            rm -rf "$cold_crate" "$out/cold-target"
            cp -a "$first_crate" "$cold_crate"
            rm -rf "$cold_crate/target"
            started=$(now)
            (cd "$cold_crate" && CARGO_TARGET_DIR="$out/cold-target" cargo build --quiet \
                >"$out/cold-build.log" 2>&1)
            say "naive cold build: $(elapsed "$started" "$(now)") s (same crate and configuration, empty target folder)"
            rm -rf "$out/cold-target"
        fi
    else
        generate_reference 1
    fi
fi

program=$(find "$first_crate/target/harness-programs" -type f -perm -u+x | sort | tail -n1)

if wants throughput; then
    venv="$cache/bench-venv"
    if ! "$venv/bin/python" -c "import torch; assert torch.__version__.startswith('2.11.0')" 2>/dev/null; then
        echo "bench-unet: installing PyTorch 2.11.0 into $venv (once, about 4.6 GB)" >&2
        python3 -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet torch==2.11.0 numpy
    fi
    say ""
    say "## training throughput, reference U-Net, batch $batch of ${size}x$size, $steps timed steps after $warmup (CPU)"
    for threads in 1 "$cores"; do
        tch_sum=0 torch_sum=0
        for round in $(seq "$rounds"); do
            tch=$("$program" bench --cpu --threads "$threads" --steps "$steps" --warmup "$warmup" \
                --batch-size "$batch" --image-size "$size")
            torch=$("$venv/bin/python" "$repo/reference/unet-torch/unet.py" --cpu --threads "$threads" \
                --steps "$steps" --warmup "$warmup" --batch-size "$batch" --image-size "$size" 2>/dev/null)
            echo "$tch" >>"$out/throughput.jsonl"
            echo "$torch" >>"$out/throughput.jsonl"
            tch_ips=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['images_per_second'])" "$tch")
            torch_ips=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['images_per_second'])" "$torch")
            say "$threads thread(s), round $round: tch $(printf %.2f "$tch_ips") img/s, PyTorch $(printf %.2f "$torch_ips") img/s"
            tch_sum=$(python3 -c "print($tch_sum + $tch_ips)")
            torch_sum=$(python3 -c "print($torch_sum + $torch_ips)")
        done
        say "$threads thread(s): ratio tch / PyTorch = $(python3 -c "print(f'{$tch_sum / $torch_sum:.3f}')")"
    done
fi

if wants chase; then
    chase_src=${CHASE_DB1:-$repo/../shared/datasets/chase_db1}
    chase="$cache/datasets/chase-db1"
    if [ ! -d "$chase" ]; then
        if [ ! -e "$chase_src" ]; then
            say "CHASE_DB1: skipped, no copy at $chase_src (set CHASE_DB1 to the archive or its folder)"
            exit 0
        fi
        "$harness" data import chase-db1 "$chase_src" --out "$chase" >&2
    fi
    say ""
    say "## reference U-Net on CHASE_DB1 (held-out 10%, Dice by the harness)"
    started=$(now)
    "$harness" train --run "$run_dir" --dataset chase-db1 ${epochs:+--epochs "$epochs"} \
        --runs-dir "$runs" --generated-dir "$out/generated-1" | tee "$out/chase.log" | tee -a "$results"
    say "wall time of harness train: $(elapsed "$started" "$(now)") s"
fi

echo "bench-unet: results in $results" >&2
