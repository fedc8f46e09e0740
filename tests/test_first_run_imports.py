"""What a fresh process's first run against a plain-http OpenAI server loads.

A script's first ``run_sync`` (or a serverless cold start) pays for every
module it imports and every context it builds: a run that cannot escalate
loads no cascade, an OpenAI run no other dialect's schema compiler, a
plain-http server no TLS context, and objects the runtime made itself build
no pydantic validator.
"""

from __future__ import annotations

import subprocess
import sys

SCRIPT = r"""
import http.server, json, sys, threading

ANSWER = {"id": "c1", "object": "chat.completion", "created": 0, "model": "m",
          "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"},
                       "finish_reason": "stop"}],
          "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}

class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["content-length"]))
        body = json.dumps(ANSWER).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_address[1]}/v1"

from agentkit import Agent, run_sync, tool

def get_weather(city: str) -> str:
    '''Get the weather in a city.'''
    return f"{city}: 21C, sunny"

agent = Agent(name="weather", instructions="Be brief.", tools=[tool(get_weather)])
result = run_sync(agent, "Weather in Paris?", model="openai:gpt-4.1-mini",
                  model_options={"base_url": url, "api_key": "k"})
assert result.output == "hi", result
from agentkit_adapters import _http
loaded = [m for m in ("agentkit._cascade", "agentkit._schema._gemini", "agentkit._schema._local")
          if m in sys.modules]
import pydantic
from agentkit import _model, _messages, _result
# Models the run built, as against those it only laid out (defer_build):
# building a validator costs a first run milliseconds.
built = sorted(
    name
    for module in (_model, _messages, _result)
    for name, cls in vars(module).items()
    if isinstance(cls, type) and issubclass(cls, pydantic.BaseModel)
    and cls.__module__ == module.__name__ and cls.__pydantic_complete__
)
print(loaded, _http._TLS.built, built)
"""


def test_a_first_openai_run_over_http_loads_no_cascade_no_other_dialect_and_no_tls() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=60
    )
    # The tool's definition is validated (a user gave its parts); the run's
    # own objects, the default settings and the schema warnings are not.
    assert out.stdout.strip() == "[] False ['ToolDefinition']", out.stderr
