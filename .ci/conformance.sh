#!/usr/bin/env bash
# The conformance kit against every adapter of ours, printing every summary table:
#   1. emulated mode for each provider and openai-chat preset (offline);
#   2. replay of the committed cassettes (tests/conformance/cassettes: offline, keyless),
#      then a fresh recording from emulated mode (through the loopback recording
#      proxy, into a temporary folder) replayed at once;
#   2b. the hosts of the paid APIs, emulated and replayed: Vertex AI (Gemini with a
#      project and token, express mode, Claude through :rawPredict), Azure OpenAI
#      (deployments API, v1 chat and Responses, the dated Responses path) and the
#      Open Responses presets' hosts (each reshaping the Responses emulator's
#      answers as it was recorded doing), a few runs at a time;
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

# report WHAT OUTPUT STATUS: print one run's tables (and failures), then forget its output.
report() {
  echo
  echo "== $1"
  # Per-scenario lines that need no attention are left out; the tables stay.
  grep -v -E '^(PASS|n/a |----|CAN\+|XFAIL) ' "$2" || true
  rm -f "$2"
  if [ "$3" -ne 0 ]; then
    echo "!! failed (exit $3): $1"
    failed=1
  fi
}

run() {
  local out status
  out="$(mktemp)"
  "${KIT[@]}" "$@" >"$out" 2>&1
  status=$?
  report "$*" "$out" "$status"
}

# run_batch SPEC...: each SPEC is one run's arguments (words without spaces), run
# JOBS at a time: a kit run mostly waits on its loopback servers, so two cores
# can overlap a few. Tables are printed in the order given.
JOBS=3
run_batch() {
  local specs=("$@") i j status
  for ((i = 0; i < ${#specs[@]}; i += JOBS)); do
    local outs=() pids=()
    for ((j = i; j < i + JOBS && j < ${#specs[@]}; j++)); do
      outs+=("$(mktemp)")
      # shellcheck disable=SC2086  # a spec is split into its words on purpose
      "${KIT[@]}" ${specs[j]} >"${outs[-1]}" 2>&1 &
      pids+=($!)
    done
    for ((j = 0; j < ${#pids[@]}; j++)); do
      wait "${pids[j]}"
      status=$?
      report "${specs[i + j]}" "${outs[j]}" "$status"
    done
  done
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

# The paid APIs' hosts (issue 12): the same targets emulated, then replayed from
# tests/conformance/cassettes/<provider>[.<wire>] (folders named by cassette_folder).
HOSTS=(
  "vertex:gemini-2.5-flash"
  "vertex:gemini-2.5-flash --wire vertex-express"
  "vertex:claude-sonnet-4-5@20250929 --expected-failures $EXPECTED/vertex-claude.yaml"
  "azure:gpt-4.1-mini"
  "azure:gpt-4.1-mini --wire azure-v1-chat"
  "azure-responses:gpt-4.1-mini"
  "azure-responses:gpt-4.1-mini --wire azure-responses"
  "openresponses:gpt-oss-120b"
  "openrouter-responses:openai/gpt-4.1-mini"
  "deepseek-responses:deepseek-v4-flash"
  "bedrock-responses:openai.gpt-oss-120b"
)
specs=()
for host in "${HOSTS[@]}"; do specs+=("$host --mode emulated"); done
for host in "${HOSTS[@]}"; do specs+=("$host --mode replay --cassettes tests/conformance/cassettes"); done
run_batch "${specs[@]}"

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
