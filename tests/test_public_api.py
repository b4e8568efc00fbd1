"""ADK code ports by renaming ``google.adk`` to ``trio_adk``: the import paths exist."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "": ["Agent", "InMemoryRunner", "Runner"],
    "runners": ["InMemoryRunner", "Runner"],
    "agents": [
        "Agent",
        "BaseAgent",
        "CallbackContext",
        "InvocationContext",
        "LiveRequest",
        "LiveRequestQueue",
        "LlmAgent",
        "LoopAgent",
        "ParallelAgent",
        "RunConfig",
        "SequentialAgent",
        "StreamingMode",
    ],
    "events": ["Event", "EventActions"],
    "sessions": [
        "BaseSessionService",
        "GetSessionConfig",
        "InMemorySessionService",
        "Session",
        "State",
    ],
    "artifacts": ["BaseArtifactService", "InMemoryArtifactService"],
    "memory": ["BaseMemoryService", "InMemoryMemoryService"],
    "auth": ["BaseCredentialService", "InMemoryCredentialService"],
    "plugins": ["BasePlugin", "LoggingPlugin", "PluginManager"],
    "models": ["BaseLlm", "BaseLlmConnection", "Gemini", "GeminiLiveOptions", "LLMRegistry",
               "LiveConnectionClosedError", "LiveTimeoutError", "LlmRequest", "LlmResponse"],
    "tools": ["BaseTool", "BaseToolset", "FunctionTool", "ToolContext", "transfer_to_agent"],
    "agents.base_agent": ["BaseAgent"],
    "agents.llm_agent": ["Agent", "LlmAgent"],
    "agents.callback_context": ["CallbackContext"],
    "agents.readonly_context": ["ReadonlyContext"],
    "agents.invocation_context": [
        "InvocationContext",
        "new_invocation_context_id",
        "LlmCallsLimitExceededError",
    ],
    "agents.run_config": ["RunConfig", "StreamingMode", "ToolThreadPoolConfig"],
    "agents.live_request_queue": ["LiveRequest", "LiveRequestQueue", "QueueFull"],
    "agents.sequential_agent": ["SequentialAgent"],
    "agents.parallel_agent": ["ParallelAgent"],
    "agents.loop_agent": ["LoopAgent"],
    "events.event": ["Event"],
    "events.event_actions": ["EventActions"],
    "models.llm_request": ["LlmRequest"],
    "models.llm_response": ["LlmResponse"],
    "models.base_llm": ["BaseLlm"],
    "models.base_llm_connection": ["BaseLlmConnection"],
    "models.registry": ["LLMRegistry"],
    "tools.base_tool": ["BaseTool"],
    "tools.base_toolset": ["BaseToolset"],
    "tools.function_tool": ["FunctionTool"],
    "tools.long_running_tool": ["LongRunningFunctionTool"],
    "tools.tool_context": ["ToolContext"],
    "tools.transfer_to_agent_tool": ["transfer_to_agent"],
    "sessions.base_session_service": [
        "BaseSessionService",
        "GetSessionConfig",
        "ListSessionsResponse",
    ],
    "sessions.in_memory_session_service": ["InMemorySessionService"],
    "sessions.session": ["Session"],
    "sessions.state": ["State"],
    "artifacts.base_artifact_service": ["BaseArtifactService"],
    "artifacts.in_memory_artifact_service": ["InMemoryArtifactService"],
    "memory.base_memory_service": ["BaseMemoryService", "SearchMemoryResponse"],
    "memory.in_memory_memory_service": ["InMemoryMemoryService"],
    "auth.credential_service": [],
    "auth.credential_service.base_credential_service": ["BaseCredentialService"],
    "auth.credential_service.in_memory_credential_service": ["InMemoryCredentialService"],
    "plugins.base_plugin": ["BasePlugin"],
    "plugins.plugin_manager": ["PluginManager"],
    "plugins.logging_plugin": ["LoggingPlugin"],
}


@pytest.mark.parametrize(("module", "names"), sorted(PUBLIC.items()))
def test_public_import_paths(module: str, names: list[str]) -> None:
    """Each ADK-style module path imports and exposes the ADK names."""
    mod = importlib.import_module("trio_adk" + ("." + module if module else ""))
    missing = [n for n in names if not hasattr(mod, n)]
    assert [] == missing
