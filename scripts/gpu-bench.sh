#!/usr/bin/env bash
# The reference U-Net's training throughput on an NVIDIA GPU: tch against PyTorch, one run.
#
#   scripts/gpu-bench.sh prepare [DIR]     # on the CPU machine with the Rust toolchain
#   scripts/gpu-bench.sh run [DIR]         # on the GPU machine with PyTorch 2.11.0 (CUDA)
#
# `prepare` builds the reference crate the way the harness builds every generated crate
# (`harness generate --llm reference --target rust-tch-unet`, against the harness's CPU
# libtorch 2.11.0) and copies the program, this script and the PyTorch twin
# (`reference/unet-torch/unet.py`) into DIR (default: target/gpu-bench). Copy DIR to the GPU
# machine; it needs no Rust toolchain there.
#
# `run` points the program at that machine's PyTorch installation: `LD_LIBRARY_PATH` to its
# `torch/lib` (it comes before the program's rpath) and `LD_PRELOAD` of `libtorch_cuda.so`,
# without which the CUDA backend never registers and tch sees no GPU. Then it alternates the tch
# and PyTorch benchmarks (same network, loss, optimiser, batch and input size; synthetic tensors
# on the GPU; cuDNN autotuning on in both) and prints images per second and the ratio
# tch / PyTorch. PYTHON names the interpreter with torch (default python3); ROUNDS, STEPS,
# WARMUP, BATCH and SIZE override the defaults (3, 50, 10, 16, 256).
set -euo pipefail

mode=${1:-}
here=$(cd "$(dirname "$0")" && pwd)

case "$mode" in
prepare)
    repo=$(cd "$here/.." && pwd)
    dir=${2:-$repo/target/gpu-bench}
    scratch=$(mktemp -d -t gpu-bench.XXXXXX)
    (cd "$repo" && cargo build --locked --quiet)
    "${CARGO_TARGET_DIR:-$repo/target}/debug/harness" generate --llm reference --target rust-tch-unet \
        --runs-dir "$scratch/runs" --generated-dir "$scratch/generated" >&2
    program=$(find "$scratch/generated/rust-tch-unet/reference-r1/target/harness-programs" -type f -perm -u+x | sort | tail -n1)
    mkdir -p "$dir"
    cp "$program" "$dir/unet_segmentation"
    cp "$repo/reference/unet-torch/unet.py" "$dir/unet.py"
    cp "$0" "$dir/gpu-bench.sh"
    rm -rf "$scratch"
    echo "prepared $dir: copy it to the GPU machine and run: $dir/gpu-bench.sh run $dir" >&2
    ;;
run)
    dir=${2:-$here}
    python=${PYTHON:-python3}
    rounds=${ROUNDS:-3} steps=${STEPS:-50} warmup=${WARMUP:-10} batch=${BATCH:-16} size=${SIZE:-256}
    torch_lib=$("$python" -c "import os, torch; print(os.path.join(os.path.dirname(torch.__file__), 'lib'))")
    version=$("$python" -c "import torch; print(torch.__version__)")
    case "$version" in
    2.11.0*) ;;
    *) echo "gpu-bench: PyTorch $version found; the program needs 2.11.0 (what tch 0.24.0 was built against)" >&2; exit 1 ;;
    esac
    if [ ! -e "$torch_lib/libtorch_cuda.so" ]; then
        echo "gpu-bench: $torch_lib has no libtorch_cuda.so: this PyTorch is a CPU build" >&2
        exit 1
    fi
    echo "PyTorch $version, $("$python" -c "import torch; print(torch.cuda.get_device_name(0))")"
    tch_sum=0 torch_sum=0
    for round in $(seq "$rounds"); do
        tch=$(LD_LIBRARY_PATH="$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
            LD_PRELOAD="$torch_lib/libtorch_cuda.so" \
            "$dir/unet_segmentation" bench --steps "$steps" --warmup "$warmup" \
            --batch-size "$batch" --image-size "$size")
        torch=$("$python" "$dir/unet.py" --steps "$steps" --warmup "$warmup" \
            --batch-size "$batch" --image-size "$size")
        echo "$tch"
        echo "$torch"
        read -r tch_ips tch_device < <("$python" -c "import json,sys; r=json.loads(sys.argv[1]); print(r['images_per_second'], r['device'])" "$tch")
        case "$tch_device" in
        cuda*) ;;
        *) echo "gpu-bench: the tch program ran on $tch_device: the CUDA backend did not register (is libtorch_cuda.so preloaded?)" >&2; exit 1 ;;
        esac
        torch_ips=$("$python" -c "import json,sys; print(json.loads(sys.argv[1])['images_per_second'])" "$torch")
        echo "round $round: tch $tch_ips img/s, PyTorch $torch_ips img/s"
        tch_sum=$("$python" -c "print($tch_sum + $tch_ips)")
        torch_sum=$("$python" -c "print($torch_sum + $torch_ips)")
    done
    echo "ratio tch / PyTorch over $rounds rounds (batch $batch of ${size}x$size): $("$python" -c "print(f'{$tch_sum / $torch_sum:.3f}')")"
    ;;
*)
    sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
