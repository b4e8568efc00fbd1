"""load_artifacts: the model sees the session's artifact names and loads them on request."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

from google.genai import types

from trio_adk._usercode._host import call_user, native
from trio_adk.tools._artifact_parts import as_safe_part_for_llm
from trio_adk.tools._base_tool import BaseTool

if TYPE_CHECKING:
    from trio_adk.models._llm_request import LlmRequest
    from trio_adk.tools._tool_context import ToolContext

_log = logging.getLogger("trio_adk")

_USER_PREFIX = "user:"
_DESCRIPTION = (
    "Brings the named artifacts of this session into the current request.\n\n"
    "NOTE: call it whenever you need an artifact's content (for example a file the\n"
    "user uploaded)."
)
_STATUS = ("The artifacts' contents were added to this request only; call "
           "load_artifacts again to see them in a later request.")

ProcessArtifactCallback: TypeAlias = Callable[
    [types.Part, str], "types.Part | Awaitable[types.Part | None] | None"
]
"""``(artifact, artifact_name) -> Part | None`` (or an awaitable of it): the part to send
instead of the artifact, None to leave it out."""


def _artifact_instruction(names: list[str]) -> str:
    # Our wording of the instruction ADK's tool adds: the names, and when to load.
    return (
        "These artifacts are available:\n"
        f"  {json.dumps(names)}\n\n"
        "  Before answering anything about one of them, call the `load_artifacts`\n"
        "  function to load it, even if it was loaded earlier in the conversation; do\n"
        "  not rely on earlier answers about an artifact's content.\n"
    )


def _string_list(value: object) -> list[str] | None:
    """``value`` as a list of strings if it is a non-string sequence of strings."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        return None
    if not all(isinstance(item, str) for item in value):
        return None
    return list(value)


def _resolve(requested: str, listed: set[str]) -> str | None:
    """The listed name the model meant by ``requested``, or None if it is not listed.

    The model's name is untrusted: only names the artifact service listed for this
    session are loaded.  Models often drop (or add) the ``user:`` prefix of user-scoped
    artifacts, so the other spelling is accepted too.
    """
    if requested in listed:
        return requested
    if requested.startswith(_USER_PREFIX):
        return requested if requested[len(_USER_PREFIX):] in listed else None
    prefixed = _USER_PREFIX + requested
    return prefixed if prefixed in listed else None


class LoadArtifactsTool(BaseTool):
    """The ``load_artifacts`` tool: artifacts of the session, loaded into the request.

    Each request of an agent that lists it gets an instruction listing the session's
    artifact names (none: no instruction).  The model calls ``load_artifacts`` with
    ``artifact_names``; the call itself only echoes the names.  On the next request the
    named artifacts (only names the service listed; a missing ``user:`` prefix is
    tolerated) are appended to that request as user contents ``Artifact <name> is:`` +
    the part; they are not stored in the session, so a later question needs another
    call.  Parts pass through :func:`as_safe_part_for_llm` (``enable_spreadsheet_parsing``
    turns spreadsheets into tables), or through ``process_artifact`` when given: a sync
    or async ``(part, name) -> Part | None`` run on the caller's library, whose None
    leaves the artifact out and whose exception is logged and skips it.

    Runs in the run's trio task and needs the invocation's artifact service (its absence
    is an error of the run).  Cancellation: cancelled with the run; nothing is stored.
    """

    def __init__(
        self,
        *,
        process_artifact: ProcessArtifactCallback | None = None,
        enable_spreadsheet_parsing: bool = False,
    ) -> None:
        if process_artifact is not None and not callable(process_artifact):
            raise TypeError(
                "LoadArtifactsTool(process_artifact=...) must be a callable taking "
                f"(part, artifact_name), got {type(process_artifact).__name__}."
            )
        super().__init__(name="load_artifacts", description=_DESCRIPTION)
        self._process_artifact = process_artifact
        self._enable_spreadsheet_parsing = bool(enable_spreadsheet_parsing)

    def _get_declaration(self) -> types.FunctionDeclaration | None:
        return types.FunctionDeclaration(
            name=self.name,
            description=self.description,
            parameters=types.Schema(
                type=types.Type.OBJECT,
                properties={
                    "artifact_names": types.Schema(
                        type=types.Type.ARRAY, items=types.Schema(type=types.Type.STRING)
                    )
                },
            ),
        )

    @native
    async def run_async(self, *, args: dict[str, Any], tool_context: ToolContext) -> Any:
        """Echo the requested names; the next request carries the artifacts themselves."""
        names = _string_list(args.get("artifact_names", []))
        if names is None:
            return {"error": "'artifact_names' must be a list of strings.",
                    "error_code": "INVALID_ARGUMENTS"}
        return {"artifact_names": names, "status": _STATUS}

    @native
    async def process_llm_request(
        self, *, tool_context: ToolContext, llm_request: LlmRequest
    ) -> None:
        """Declare the tool, list the artifacts and attach the ones just requested."""
        await super().process_llm_request(tool_context=tool_context, llm_request=llm_request)
        names = await tool_context.list_artifacts()
        if not names:
            return
        llm_request.append_instructions([_artifact_instruction(names)])
        if not llm_request.contents or not llm_request.contents[-1].parts:
            return
        listed = set(names)
        for part in list(llm_request.contents[-1].parts):
            response = part.function_response
            if response is None or response.name != self.name:
                continue
            requested = _string_list((response.response or {}).get("artifact_names", []))
            if requested is None:
                _log.warning("load_artifacts: ignoring a response whose artifact_names "
                             "is not a list of strings")
                continue
            for name in requested:
                await self._attach(name, listed, tool_context, llm_request)

    async def _attach(
        self, requested: str, listed: set[str], tool_context: ToolContext,
        llm_request: LlmRequest,
    ) -> None:
        name = _resolve(requested, listed)
        if name is None:
            _log.warning("load_artifacts: %r is not an artifact of this session", requested)
            return
        artifact = await tool_context.load_artifact(name)
        if artifact is None and not name.startswith(_USER_PREFIX):
            # A service may list a user-scoped artifact under its bare name.
            name = _USER_PREFIX + name
            artifact = await tool_context.load_artifact(name)
        if artifact is None:
            _log.warning("load_artifacts: artifact %r not found", name)
            return
        part: types.Part | None
        if self._process_artifact is None:
            part = as_safe_part_for_llm(artifact, requested, self._enable_spreadsheet_parsing)
        else:
            try:
                part = await call_user(self._process_artifact, artifact, name)
            except Exception:
                _log.exception("load_artifacts: process_artifact failed for %r; skipped",
                               name)
                return
        if part is None:
            return
        llm_request.contents.append(types.Content(
            role="user", parts=[types.Part(text=f"Artifact {requested} is:"), part]))


load_artifacts_tool = LoadArtifactsTool()
"""The ``load_artifacts`` tool, ready to list in an agent's ``tools``."""
