"""Imports of ADK modules trio-adk does not provide fail with a message that says so.

``import trio_adk.tools.openapi_tool`` would otherwise fail with a bare "No module named"
error that looks like a typo or a broken install.  A finder placed last on
``sys.meta_path`` (so it never hides a real module) raises ``ModuleNotFoundError`` with
a message naming the ADK module when the name is one of ADK 2.13's modules that
trio-adk lacks; any other missing name fails as usual.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

_PREFIX = "trio_adk."

# The first missing component of each public module of google-adk 2.13 (deeper modules
# fail on it first): "tools.openapi_tool" covers tools.openapi_tool.openapi_spec_parser too.
ADK_MODULES_NOT_PROVIDED = frozenset({
    "a2a",
    "agents.active_streaming_tool",
    "agents.agent_config",
    "agents.base_agent_config",
    "agents.common_configs",
    "agents.config_agent_utils",
    "agents.context",
    "agents.langgraph_agent",
    "agents.llm",
    "agents.llm_agent_config",
    "agents.loop_agent_config",
    "agents.mcp_instruction_provider",
    "agents.parallel_agent_config",
    "agents.remote_a2a_agent",
    "agents.sequential_agent_config",
    "agents.transcription_entry",
    "apps.compaction",
    "artifacts.artifact_util",
    "artifacts.gcs_artifact_service",
    "auth.auth_handler",
    "auth.auth_preprocessor",
    "auth.auth_provider_registry",
    "auth.base_auth_provider",
    "auth.credential_manager",
    "auth.credential_service.session_state_credential_service",
    "auth.exchanger",
    "auth.oauth2_credential_util",
    "auth.oauth2_discovery",
    "auth.refresher",
    "cli.adk_web_server",
    "cli.agent_graph",
    "cli.agent_test_runner",
    "cli.api_server",
    "cli.built_in_agents",
    "cli.cli",
    "cli.cli_create",
    "cli.cli_deploy",
    "cli.cli_eval",
    "cli.cli_tools_click",
    "cli.conformance",
    "cli.deployers",
    "cli.dev_server",
    "cli.fast_api",
    "cli.plugins",
    "cli.trigger_routes",
    "cli.utils.agent_change_handler",
    "cli.utils.base_agent_loader",
    "cli.utils.cleanup",
    "cli.utils.common",
    "cli.utils.dot_adk_folder",
    "cli.utils.evals",
    "cli.utils.gcp_utils",
    "cli.utils.graph_serialization",
    "cli.utils.graph_visualization",
    "cli.utils.local_storage",
    "cli.utils.logs",
    "cli.utils.service_factory",
    "cli.utils.shared_value",
    "cli.utils.state",
    "code_executors.agent_engine_sandbox_code_executor",
    "code_executors.code_execution_utils",
    "code_executors.code_executor_context",
    "code_executors.container_code_executor",
    "code_executors.gke_code_executor",
    "code_executors.unsafe_local_code_executor",
    "code_executors.vertex_ai_code_executor",
    "dependencies",
    "environment",
    "evaluation",
    "events.request_input",
    "examples.vertex_ai_example_store",
    "features",
    "flows.llm_flows",
    "integrations",
    "labs",
    "live",
    "memory.memory_entry",
    "memory.vertex_ai_memory_bank_service",
    "memory.vertex_ai_rag_memory_service",
    "models.apigee_llm",
    "models.cache_metadata",
    "models.gemini_context_cache_manager",
    "models.gemma_llm",
    "models.interactions_utils",
    "optimization",
    "platform",
    "plugins.auto_tracing_helpers",
    "plugins.auto_tracing_plugin",
    "plugins.bigquery_agent_analytics_plugin",
    "plugins.context_filter_plugin",
    "plugins.debug_logging_plugin",
    "plugins.global_instruction_plugin",
    "plugins.multimodal_tool_results_plugin",
    "plugins.reflect_retry_tool_plugin",
    "plugins.save_files_as_artifacts_plugin",
    "sessions.migration",
    "sessions.schemas",
    "sessions.vertex_ai_session_service",
    "skills",
    "telemetry.context",
    "telemetry.google_cloud",
    "telemetry.node_tracing",
    "telemetry.setup",
    "telemetry.sqlite_span_exporter",
    "tools.agent_simulator",
    "tools.api_registry",
    "tools.apihub_tool",
    "tools.application_integration_tool",
    "tools.authenticated_function_tool",
    "tools.base_authenticated_tool",
    "tools.bash_tool",
    "tools.bigquery",
    "tools.bigtable",
    "tools.computer_use",
    "tools.crewai_tool",
    "tools.data_agent",
    "tools.discovery_engine_search_tool",
    "tools.environment",
    "tools.environment_simulation",
    "tools.google_api_tool",
    "tools.google_tool",
    "tools.langchain_tool",
    "tools.load_mcp_resource_tool",
    "tools.load_web_page",
    "tools.mcp_tool.conversion_utils",
    "tools.mcp_tool.session_context",
    "tools.model_consult",
    "tools.openapi_tool",
    "tools.pubsub",
    "tools.retrieval",
    "tools.set_model_response_tool",
    "tools.skill_toolset",
    "tools.spanner",
    "tools.tool_configs",
    "tools.toolbox_toolset",
    "tools.vertex_ai_load_profiles_tool",
    "utils.agent_info",
    "utils.cache_performance_analyzer",
    "utils.content_utils",
    "utils.env_utils",
    "utils.feature_decorator",
    "utils.model_name_utils",
    "utils.output_schema_utils",
    "utils.streaming_utils",
    "utils.variant_utils",
    "utils.vertex_ai_utils",
    "utils.yaml_utils",
    "version",
    "workflow",
})


class NotProvidedError(ModuleNotFoundError):
    """An ADK module that trio-adk does not provide (yet)."""


class _NotProvidedFinder:
    """Raises :class:`NotProvidedError` for ADK modules that no other finder found."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        if not fullname.startswith(_PREFIX):
            return None
        name = fullname[len(_PREFIX):]
        if name not in ADK_MODULES_NOT_PROVIDED:
            return None
        raise NotProvidedError(
            f"{fullname}: trio-adk does not provide google.adk.{name} yet "
            "(see README: what ports).", name=fullname)

    def invalidate_caches(self) -> None:
        """Nothing cached."""


def install() -> None:
    """Put the finder last on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _NotProvidedFinder) for f in sys.meta_path):
        sys.meta_path.append(_NotProvidedFinder())


WORKFLOW_GRAPHS = "google.adk.workflow (ADK's Workflow graphs)"
"""What :func:`member_not_provided` names for context members that need a Workflow graph."""


def member_not_provided(owner: str, member: str, what: str) -> NotProvidedError:
    """The error for ``owner.member``, an ADK member that needs ``what``, which
    trio-adk does not provide yet (raised, say, by a context's ``run_node``)."""
    return NotProvidedError(
        f"{owner}.{member}: trio-adk does not provide {what} yet (see README: what ports).")


def names_not_provided(package: str, names: frozenset[str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: the ADK names in ``names`` that trio-adk
    lacks raise :class:`NotProvidedError` saying so (so ``from trio_adk.sessions import
    DatabaseSessionService`` explains itself); any other unknown name is the usual
    ``AttributeError``.

    The error is an ``ImportError``, not an ``AttributeError``: that is what lets its
    message through ``from ... import``; ``hasattr`` on one of these names raises it too.
    """
    adk_package = "google.adk" + package[len("trio_adk"):]

    def __getattr__(name: str) -> Any:
        if name in names:
            raise NotProvidedError(
                f"{package}.{name}: trio-adk does not provide {adk_package}.{name} yet "
                "(see README: what ports).", name=f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
