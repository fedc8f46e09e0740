"""``agentkit run --trace``: spans leave the process, over OTLP to a collector or to stderr.

The collector is a loopback HTTP server of the test's own that decodes the
OTLP/HTTP protobuf body with ``opentelemetry-proto``, as a real collector does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from agentkit.testing import OpenAIChatEmulator, serve_asgi

from ..weather_script import weather_script

ROOT = Path(__file__).parent.parent.parent
EXAMPLE = ROOT / "examples" / "weather" / "agent.yaml"


class Collector:
    """Receives ``POST /v1/traces`` and keeps the decoded requests."""

    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        self.paths: list[str] = []
        self.content_types: list[str] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                collector.requests.append(request)
                collector.paths.append(self.path)
                collector.content_types.append(self.headers["Content-Type"])
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def spans(self) -> list[Any]:
        return [
            span
            for request in self.requests
            for resource in request.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]


@pytest.fixture
def collector() -> Iterator[Collector]:
    collector = Collector()
    thread = threading.Thread(target=collector.server.serve_forever, daemon=True)
    thread.start()
    yield collector
    collector.server.shutdown()
    collector.server.server_close()


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    with serve_asgi(OpenAIChatEmulator(weather_script, api_key="sk-test-planted")) as url:
        yield f"{url}/v1"


def agentkit_run(emulator: str, *options: str, env: dict[str, str]) -> Any:
    full_env = {
        k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k[:5] != "OTEL_"
    }
    full_env.pop("AGENTKIT_MODEL", None)
    full_env.update({"OPENAI_BASE_URL": emulator, "OPENAI_API_KEY": "sk-test-planted", **env})
    command = [sys.executable, "-m", "agentkit", "run", str(EXAMPLE), "-m", "openai:gpt-4.1-mini"]
    return subprocess.run(
        [*command, "--input", "Weather in Paris?", *options],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
        cwd=ROOT,
    )


def test_trace_otlp_exports_the_run_to_the_collector(emulator: str, collector: Collector) -> None:
    out = agentkit_run(
        emulator, "--trace", "otlp", env={"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url}
    )
    assert out.returncode == 0, out.stderr
    assert collector.paths
    assert set(collector.paths) == {"/v1/traces"}
    assert set(collector.content_types) == {"application/x-protobuf"}
    spans = collector.spans()
    names = sorted(span.name for span in spans)
    assert names == [
        "chat gpt-4.1-mini",
        "chat gpt-4.1-mini",
        "execute_tool get_weather",
        "invoke_agent weather",
    ]
    root = next(s for s in spans if s.name == "invoke_agent weather")
    assert {s.trace_id for s in spans} == {root.trace_id}
    assert all(s.parent_span_id == root.span_id for s in spans if s is not root)
    chat = next(s for s in spans if s.name.startswith("chat"))
    attributes = {a.key: a.value for a in chat.attributes}
    assert attributes["gen_ai.provider.name"].string_value == "openai"
    assert attributes["gen_ai.usage.input_tokens"].int_value > 0
    resource = collector.requests[0].resource_spans[0].resource
    service = {a.key: a.value.string_value for a in resource.attributes}["service.name"]
    assert service == "agentkit"


def test_trace_console_prints_spans_to_stderr(emulator: str) -> None:
    out = agentkit_run(emulator, "--trace", "console", env={})
    assert out.returncode == 0, out.stderr
    assert '"name": "invoke_agent weather"' in out.stderr
    assert '"name": "execute_tool get_weather"' in out.stderr
    assert '"name": "invoke_agent' not in out.stdout  # the answer's stream stays clean


def test_without_trace_nothing_is_exported(emulator: str, collector: Collector) -> None:
    # Even with an endpoint in the environment: export is asked for, never assumed.
    out = agentkit_run(emulator, env={"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url})
    assert out.returncode == 0, out.stderr
    assert collector.requests == []
    assert "invoke_agent" not in out.stderr
