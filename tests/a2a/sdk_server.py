"""An A2A server built with the official Python SDK alone: no agentkit on the server side.

Its executor answers by keyword: ``data`` -> a data artifact, ``fail`` -> a
failed task, ``ask`` -> input-required, anything else -> a text artifact
after two progress messages. It also remembers each context's messages, so
a test can check that the client kept the conversation.
"""

from __future__ import annotations

from collections import defaultdict

from a2a.helpers.proto_helpers import (
    get_message_text,
    new_data_part,
    new_task_from_user_message,
    new_text_part,
)
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types import AgentCapabilities, AgentCard, AgentInterface, AgentSkill, TaskState
from starlette.applications import Starlette


class KeywordExecutor(AgentExecutor):
    def __init__(self) -> None:
        self.seen: dict[str, list[str]] = defaultdict(list)

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        assert context.message is not None
        assert context.task_id is not None
        assert context.context_id is not None
        text = get_message_text(context.message)
        self.seen[context.context_id].append(text)
        if context.current_task is None:
            await event_queue.enqueue_event(new_task_from_user_message(context.message))
        updater = TaskUpdater(event_queue, context.task_id, context.context_id)
        await updater.start_work(updater.new_agent_message([new_text_part("reading")]))
        if text == "fail":
            await updater.failed(updater.new_agent_message([new_text_part("out of paper")]))
            return
        if text == "ask":
            await updater.requires_input(updater.new_agent_message([new_text_part("which city?")]))
            return
        await updater.update_status(
            TaskState.TASK_STATE_WORKING, updater.new_agent_message([new_text_part("writing")])
        )
        if text.startswith("data"):
            await updater.add_artifact([new_data_part({"rows": 3, "ok": True})], name="table")
        else:
            turns = len(self.seen[context.context_id])
            await updater.add_artifact(
                [new_text_part(f"sdk says: {text} (turn {turns})")], name="answer"
            )
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        assert context.task_id is not None
        assert context.context_id is not None
        await TaskUpdater(event_queue, context.task_id, context.context_id).cancel()


def sdk_app(url: str, executor: KeywordExecutor) -> Starlette:
    """The SDK-only server, its card naming ``url``."""
    card = AgentCard(
        name="Keyword Agent",
        description="Answers by keyword; built with the official SDK only.",
        version="0.1.0",
        supported_interfaces=[
            AgentInterface(url=url, protocol_binding="JSONRPC", protocol_version="1.0")
        ],
        capabilities=AgentCapabilities(streaming=True),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain", "application/json"],
        skills=[
            AgentSkill(
                id="tables", name="tables", description="Returns tables as data", tags=["data"]
            )
        ],
    )
    handler = DefaultRequestHandler(
        agent_executor=executor, task_store=InMemoryTaskStore(), agent_card=card
    )
    return Starlette(routes=[*create_agent_card_routes(card), *create_jsonrpc_routes(handler, "/")])
