"""What an agent's code executor does around each model call.

Before the call, the active executor (``LlmAgent.code_executor``; or, as in ADK, a
``BuiltInCodeExecutor`` for the root agent of a run whose ``RunConfig.support_cfc`` is
set) adds Gemini's code execution tool to the request.  After a final (non-partial)
response, the images the model's code produced (``inline_data`` parts with an ``image/*``
type) are saved as artifacts of the session and replaced in the reply by a text part
naming the artifact, and an event carrying the ``artifact_delta`` comes before the
reply's own event.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

import attrs
from google.genai import types

from trio_adk.code_executors._built_in import BuiltInCodeExecutor

if TYPE_CHECKING:
    from trio_adk.agents._invocation_context import InvocationContext
    from trio_adk.agents._llm_agent import LlmAgent
    from trio_adk.events._event import Event
    from trio_adk.models._llm_request import LlmRequest
    from trio_adk.models._llm_response import LlmResponse


def active_code_executor(agent: LlmAgent, ctx: InvocationContext) -> BuiltInCodeExecutor | None:
    """The built-in executor acting for ``agent`` in this run, if any."""
    executor = agent.code_executor
    if isinstance(executor, BuiltInCodeExecutor):
        return executor
    if ctx.run_config.support_cfc and agent.parent_agent is None:
        return BuiltInCodeExecutor()
    return None


def add_code_execution(agent: LlmAgent, ctx: InvocationContext, request: LlmRequest) -> None:
    """Add the code execution tool to ``request`` when a built-in executor is active.

    Raises ``ValueError`` when the request's model is not a Gemini model.
    """
    executor = active_code_executor(agent, ctx)
    if executor is not None:
        executor.process_llm_request(request)


def _file_name(blob: types.Blob) -> str:
    if blob.display_name:
        return blob.display_name
    stamp = datetime.datetime.now().astimezone().strftime("%Y%m%d_%H%M%S")
    extension = (blob.mime_type or "image").split("/")[-1]
    return f"{stamp}.{extension}"


async def save_generated_images(
    agent: LlmAgent, ctx: InvocationContext, response: LlmResponse
) -> tuple[LlmResponse, Event | None]:
    """Save the images of a final reply as artifacts; return the reply with each image
    replaced by ``"Saved as artifact: <name>. "`` and the event recording the saves
    (``None`` when nothing was saved, and the reply unchanged).

    Raises ``ValueError`` when there is an image but no artifact service, ``TypeError``
    when an image carries no bytes.  Cancellation: at an artifact save; an image saved
    before then stays saved (its artifact event is not emitted).
    """
    from trio_adk.agents._callback_context import CallbackContext
    from trio_adk.events._event import Event
    from trio_adk.events._event_actions import EventActions

    if (response.partial or response.content is None or not response.content.parts
            or active_code_executor(agent, ctx) is None):
        return response, None
    actions = EventActions()
    saver = CallbackContext(ctx, event_actions=actions)
    parts: list[types.Part] = []
    saved = False
    for part in response.content.parts:
        blob = part.inline_data
        if blob is None or not (blob.mime_type or "").startswith("image/"):
            parts.append(part)
            continue
        if not isinstance(blob.data, bytes):
            raise TypeError("An image the model generated carries no bytes; it cannot be "
                            "saved as an artifact.")
        name = _file_name(blob)
        await saver.save_artifact(name, types.Part.from_bytes(
            data=blob.data, mime_type=blob.mime_type or "application/octet-stream"))
        parts.append(part.model_copy(update={"inline_data": None,
                                             "text": f"Saved as artifact: {name}. "}))
        saved = True
    if not saved:
        return response, None
    content = response.content.model_copy(update={"parts": parts})
    event = Event(invocation_id=ctx.invocation_id, author=agent.name, branch=ctx.branch,
                  actions=actions)
    return attrs.evolve(response, content=content), event
