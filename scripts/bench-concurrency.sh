#!/usr/bin/env bash
# Many LLMs at once against one: N registry entries (fixtures, `fixture-bench-*`) point at a local
# OpenAI-wire server that answers every request after a fixed delay with a scripted reply that
# builds and runs on the tiny target. Prints the wall time of one LLM, of N one after the other
# (--jobs 1) and of N at once (--jobs N). Usage: scripts/bench-concurrency.sh [N] [DELAY_S]
set -euo pipefail
n="${1:-4}"
delay="${2:-5}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
harness="${CARGO_TARGET_DIR:-$repo/target}/debug/harness"
[[ -x "$harness" ]] || (cd "$repo" && cargo build --locked --quiet)
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
conversation="$repo/tests/fixtures/conversations/fixture-scripted-stats"
# Reply 1's manifest and program with reply 3's working stats.rs (the later block wins).
cat "$conversation/reply-1.md" "$conversation/reply-3.md" >"$work/reply.md"
cat >"$work/server.py" <<'EOF'
import json, sys, time
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
reply, delay = open(sys.argv[1]).read(), float(sys.argv[2])
class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args): pass
    def answer(self, status, value):
        body = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        self.answer(200, {"data": [{"id": "m"}]}) if self.path.endswith("/models") else self.answer(404, {})
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(delay)
        self.answer(200, {"model": "m", "choices": [{"finish_reason": "stop", "message": {"role": "assistant", "content": reply}}], "usage": {"prompt_tokens": 1, "completion_tokens": 1}})
with ThreadingHTTPServer(("127.0.0.1", 0), Handler) as server:
    print(server.server_address[1], flush=True)
    server.serve_forever()
EOF
python3 "$work/server.py" "$work/reply.md" "$delay" >"$work/port" &
server=$!
for _ in $(seq 1 50); do [[ -s "$work/port" ]] && break; sleep 0.1; done
port="$(head -1 "$work/port")"
ids=()
echo "llms:" >"$work/llms.yaml"
for i in $(seq 1 "$n"); do
  ids+=("fixture-bench-$i")
  printf '  - id: fixture-bench-%s\n    provider: openai\n    model: m\n    base_url: http://127.0.0.1:%s/v1\n    cohort: local\n' "$i" "$port" >>"$work/llms.yaml"
done
all="$(IFS=,; echo "${ids[*]}")"
timed() {
  local label="$1"; shift
  local start end
  start=$(date +%s.%N)
  "$harness" generate --registry "$work/llms.yaml" --target rust-tiny --max-iterations 1 \
    --runs-dir "$work/runs-$label" --generated-dir "$work/gen-$label" "$@" >/dev/null 2>&1
  end=$(date +%s.%N)
  printf '%-28s %6.2f s\n' "$label" "$(python3 -c "print($end - $start)")"
}
echo "server delay ${delay} s per reply, ${n} LLMs, one iteration each (rust-tiny)"
timed "one-llm" --llm fixture-bench-1
timed "${n}-llms-jobs-1" --llm "$all" --jobs 1
timed "${n}-llms-jobs-${n}" --llm "$all" --jobs "$n" --per-provider "$n"
