#!/usr/bin/env bash
# The conformance kit against every adapter of ours, printing every summary table:
#   1. emulated mode for each provider and openai-chat preset (offline);
#   2. replay of the committed cassettes (tests/conformance/cassettes: offline, keyless),
#      then a fresh recording from emulated mode (through the loopback recording
#      proxy, into a temporary folder) replayed at once;
#   3. live mode against the in-process local model (llamacpp:smollm2-135m);
#   4. endpoint mode against llama-cpp-python's own OpenAI-compatible server
#      (python -m llama_cpp.server) on a free loopback port, checked against
#      the llamacpp-server preset's claims, known server gaps in
#      tests/conformance/expected_failures/endpoint-llamacpp-server.yaml.
# Exits non-zero when any claimed scenario failed (or a known gap started passing).
set -uo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never
export PYTHONUNBUFFERED=1

PYTHON="$(uv run python -c 'import sys; print(sys.executable)')"
EXPECTED=tests/conformance/expected_failures
# The same as the `agentkit conformance` command.
KIT=("$PYTHON" -m agentkit conformance)
failed=0

run() {
  echo
  echo "== $*"
  local out status
  out="$(mktemp)"
  "${KIT[@]}" "$@" >"$out" 2>&1
  status=$?
  # Per-scenario lines that need no attention are left out; the tables stay.
  grep -v -E '^(PASS|n/a |----|CAN\+|XFAIL) ' "$out" || true
  rm -f "$out"
  if [ "$status" -ne 0 ]; then
    echo "!! failed (exit $status): $*"
    failed=1
  fi
}

for model in openai:gpt-4.1-mini openai-responses:gpt-4.1-mini gemini:gemini-2.5-flash \
  ollama:llama3.2 vllm:meta-llama/Llama-3.1-8B-Instruct llamacpp-server:qwen2.5 \
  ollama-openai:llama3.2 anthropic:claude-sonnet-4-5; do
  provider="${model%%:*}"
  args=("$model" --mode emulated)
  if [ -f "$EXPECTED/$provider.yaml" ]; then args+=(--expected-failures "$EXPECTED/$provider.yaml"); fi
  run "${args[@]}"
done

# Replay: every recorded adapter, offline and keyless, from the committed cassettes.
for model in openai:gpt-4.1-mini openai-responses:gpt-4.1-mini gemini:gemini-2.5-flash \
  ollama:llama3.2 vllm:meta-llama/Llama-3.1-8B-Instruct llamacpp-server:qwen2.5 \
  ollama-openai:llama3.2 anthropic:claude-sonnet-4-5; do
  provider="${model%%:*}"
  args=("$model" --mode replay --cassettes tests/conformance/cassettes)
  if [ -f "$EXPECTED/$provider.yaml" ]; then args+=(--expected-failures "$EXPECTED/$provider.yaml"); fi
  run "${args[@]}"
done

# Record (emulated, through the loopback recording proxy) and replay what was just recorded.
FRESH="$(mktemp -d)"
run openai:gpt-4.1-mini --mode record --record-from emulated --cassettes "$FRESH"
run openai:gpt-4.1-mini --mode replay --cassettes "$FRESH"
run anthropic:claude-sonnet-4-5 --mode record --record-from emulated --cassettes "$FRESH" \
  --expected-failures "$EXPECTED/anthropic.yaml"
run anthropic:claude-sonnet-4-5 --mode replay --cassettes "$FRESH" \
  --expected-failures "$EXPECTED/anthropic.yaml"
rm -rf "$FRESH"

run llamacpp:smollm2-135m --mode live --level core --level streaming --level structured_output

MODEL_PATH="$("$PYTHON" -c 'from agentkit_adapters.llamacpp import locate_model; print(locate_model("smollm2-135m"))')"
PORT="$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
LOG="$(mktemp)"
# --chat_format chatml-function-calling: the server's function-calling mode (the
# model's own template ignores tools). --n_ctx 512 bounds how long the tiny model
# can ramble on an open-ended prompt, so no scenario runs into the kit's deadline.
"$PYTHON" -m llama_cpp.server --model "$MODEL_PATH" --host 127.0.0.1 --port "$PORT" \
  --n_ctx 512 --chat_format chatml-function-calling >"$LOG" 2>&1 &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null || true; rm -f "$LOG"' EXIT
ready=0
for _ in $(seq 1 300); do
  if "$PYTHON" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/v1/models', timeout=1)" 2>/dev/null; then
    ready=1
    break
  fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
  sleep 0.2
done
if [ "$ready" -eq 1 ]; then
  run --mode endpoint --endpoint "http://127.0.0.1:$PORT" --protocol llamacpp-server \
    --model smollm2 --expected-failures "$EXPECTED/endpoint-llamacpp-server.yaml"
else
  echo "!! llama_cpp.server did not start:"
  tail -20 "$LOG"
  failed=1
fi

echo
if [ "$failed" -ne 0 ]; then
  echo "conformance: FAILED"
  exit 1
fi
echo "conformance: all claimed scenarios pass"
