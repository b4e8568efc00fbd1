"""The ``/dev/...`` routes ADK 2.13's dev UI calls, and ``/config/telemetry``.

What trio-adk offers (the app's structure and README, its graph as DOT text, the trace
view from our own spans) answers in ADK's shapes; what it does not (evaluation, the
agent builder, fixture tests, deployment) answers 501 with a JSON body naming the
feature, so the UI shows an error for that panel and the rest keeps working.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pydantic
import trio
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from trio_adk._utils._checks import check_id
from trio_adk.agents._base_agent import BaseAgent
from trio_adk.server._dev_graph import agent_dot, agent_tree, find_agent
from trio_adk.server._runners import AppLoadError, AppNotFoundError

if TYPE_CHECKING:
    from trio_adk.server._app import ApiServer
    from trio_adk.server._traces import SpanRing

_README_LIMIT = 1_000_000
"""Bytes of an app's README.md the build_graph view reads at most."""

# (feature, what the 501 says, [(method, path), ...]): ADK 2.13's dev routes we do not serve.
_APP = "/dev/apps/{app_name}"
NOT_OFFERED: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    ("evaluation", "Evaluation (eval sets, eval cases, eval runs and results) is not "
     "available in trio-adk; use google-adk's `adk eval` / `adk web` for it.", (
        ("POST", _APP + "/eval-sets"),
        ("GET", _APP + "/eval-sets"),
        ("POST", _APP + "/eval_sets/{eval_set_id}"),
        ("GET", _APP + "/eval_sets"),
        ("POST", _APP + "/eval_sets/{eval_set_id}/run_eval"),
        ("POST", _APP + "/eval-sets/{eval_set_id}/run"),
        ("POST", _APP + "/eval-sets/{eval_set_id}/add-session"),
        ("POST", _APP + "/eval_sets/{eval_set_id}/add_session"),
        ("GET", _APP + "/eval_sets/{eval_set_id}/evals"),
        ("GET", _APP + "/eval-sets/{eval_set_id}/eval-cases/{eval_case_id}"),
        ("PUT", _APP + "/eval-sets/{eval_set_id}/eval-cases/{eval_case_id}"),
        ("DELETE", _APP + "/eval-sets/{eval_set_id}/eval-cases/{eval_case_id}"),
        ("GET", _APP + "/eval_sets/{eval_set_id}/evals/{eval_case_id}"),
        ("PUT", _APP + "/eval_sets/{eval_set_id}/evals/{eval_case_id}"),
        ("DELETE", _APP + "/eval_sets/{eval_set_id}/evals/{eval_case_id}"),
        ("GET", _APP + "/eval_results/{eval_result_id}"),
        ("GET", _APP + "/eval_results"),
        ("GET", _APP + "/eval-results/{eval_result_id}"),
        ("GET", _APP + "/eval-results"),
    )),
    ("metrics-info", "Evaluation metrics (metrics-info) are not available in trio-adk; "
     "use google-adk's `adk web` for evaluation.", (
        ("GET", _APP + "/metrics-info"),
    )),
    ("tests", "Fixture tests (`adk test`) are not available in trio-adk; write pytest "
     "tests with trio_adk.testing instead.", (
        ("GET", _APP + "/tests"),
        ("POST", _APP + "/tests/rebuild"),
        ("POST", _APP + "/tests/run"),
        ("GET", _APP + "/tests/{test_name}"),
        ("PUT", _APP + "/tests/{test_name}"),
        ("DELETE", _APP + "/tests/{test_name}"),
    )),
    ("builder", "The agent builder (YAML agent configs) is not available in trio-adk; "
     "edit the app's Python code instead.", (
        ("GET", _APP + "/builder"),
        ("POST", _APP + "/builder/save"),
        ("POST", _APP + "/builder/cancel"),
    )),
    ("deploy", "Deployment from the dev UI is not available in trio-adk; serve the app "
     "with `trio-adk api_server` where it should run.", (
        ("GET", _APP + "/deploy/defaults"),
        ("POST", _APP + "/deploy/agent_engine"),
        ("POST", _APP + "/deploy/cloud_run"),
        ("POST", _APP + "/deploy/gke"),
    )),
)


class TelemetryConsent(pydantic.BaseModel):
    """``POST /config/telemetry``: whether the UI may load Google's usage analytics."""

    telemetry: bool


def _not_offered(feature: str, detail: str) -> Any:
    async def endpoint() -> JSONResponse:
        return JSONResponse({"detail": detail, "feature": feature}, status_code=501)

    endpoint.__name__ = f"not_offered_{feature.replace('-', '_')}"
    return endpoint


async def _read_readme(folder: trio.Path) -> str | None:
    """The app's README.md (its first ``_README_LIMIT`` bytes), read in a worker thread;
    ``None`` when it has none or it cannot be read."""
    try:
        async with await (folder / "README.md").open("rb") as file:
            data = await file.read(_README_LIMIT)
    except OSError:
        return None
    return data.decode("utf-8", errors="replace")


class DevRoutes:
    """The dev routes over one :class:`ApiServer`, added to its app by :meth:`add_to`.

    Args:
        server: The server whose loader and session service the routes read.
        traces: Where the trace routes find spans (``None``: the trace view is empty).
        telemetry: The UI's usage-analytics consent to start from.  ``False`` (the
            default): no consent prompt, no analytics; the UI's setting changes it for
            this process only (ADK keeps it in ``~/.adk/config.json``; trio-adk never
            writes there).
    """

    def __init__(self, server: ApiServer, *, traces: SpanRing | None = None,
                 telemetry: bool | None = False) -> None:
        self.server = server
        self.traces = traces
        self.telemetry = telemetry

    async def _root_agent(self, app_name: str) -> BaseAgent:
        if app_name.startswith("__"):
            raise HTTPException(status_code=403, detail="Access to internal agents is disabled")
        try:
            return await self.server.runners.load_agent(app_name)
        except AppNotFoundError as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from None
        except AppLoadError as exc:
            raise HTTPException(status_code=500, detail=str(exc)) from None

    def add_to(self, app: FastAPI) -> None:
        """Add the routes (before any catch-all mount, so they win)."""
        self._add_config_routes(app)
        self._add_graph_routes(app)
        self._add_trace_routes(app)
        for feature, detail, routes in NOT_OFFERED:
            for method, path in routes:
                app.add_api_route(path, _not_offered(feature, detail), methods=[method],
                                  include_in_schema=False)

    def _add_config_routes(self, app: FastAPI) -> None:
        @app.get("/config/telemetry")
        async def get_telemetry() -> dict[str, Any]:
            return {"telemetry": self.telemetry}

        @app.post("/config/telemetry")
        async def set_telemetry(req: TelemetryConsent, request: Request) -> dict[str, Any]:
            # A header a cross-site form cannot send: only the UI's own script changes it.
            if request.headers.get("x-adk-telemetry-request") != "true":
                raise HTTPException(status_code=400,
                                    detail="Forbidden: missing required security header")
            self.telemetry = req.telemetry
            return {"telemetry": req.telemetry}

    def _add_graph_routes(self, app: FastAPI) -> None:
        @app.get(_APP + "/build_graph")
        async def build_graph(app_name: str) -> dict[str, Any]:
            """The app's agent tree and README (read in a worker thread; cancellation
            abandons the read)."""
            root = await self._root_agent(app_name)
            info: dict[str, Any] = {"name": app_name, "root_agent": agent_tree(root)}
            try:
                folder = trio.Path(self.server.agent_loader.agent_dir(app_name))
            except (ValueError, OSError):
                folder = None
            readme = await _read_readme(folder) if folder is not None else None
            if readme:
                info["readme"] = readme
            return info

        @app.get(_APP + "/build_graph_image")
        async def build_graph_image(app_name: str, dark_mode: bool = False,
                                    node: str | None = None) -> dict[str, Any]:
            root = await self._root_agent(app_name)
            target = root
            if node:
                found = find_agent(root, node)
                if found is None:
                    raise HTTPException(status_code=404, detail=f"Node not found: {node}")
                target = found
            return {node or "": {"dotSrc": agent_dot(target, dark_mode=dark_mode)}}

        @app.get(_APP + "/graph")
        async def app_graph(app_name: str, dark_mode: bool = False) -> dict[str, Any]:
            root = await self._root_agent(app_name)
            return {"dotSrc": agent_dot(root, dark_mode=dark_mode)}

        @app.get(_APP + "/users/{user_id}/sessions/{session_id}/events/{event_id}/graph")
        async def event_graph(app_name: str, user_id: str, session_id: str,
                              event_id: str) -> dict[str, Any]:
            """The graph with the event's hop drawn in the accent colour: its author to
            the tools it called, the tools that answered to it, or the author alone;
            ``{}`` for an event the session does not have."""
            try:
                for name, value in (("app_name", app_name), ("user_id", user_id),
                                    ("session_id", session_id)):
                    check_id(value, name)
            except (TypeError, ValueError) as exc:
                raise HTTPException(status_code=400, detail=str(exc)) from None
            session = await self.server.session_service.get_session(
                app_name=app_name, user_id=user_id, session_id=session_id)
            event = next((e for e in session.events if e.id == event_id),
                         None) if session is not None else None
            if event is None:
                return {}
            root = await self._root_agent(app_name)
            calls, responses = event.get_function_calls(), event.get_function_responses()
            hops: list[tuple[str | None, str | None]]
            if calls:
                hops = [(event.author, call.name) for call in calls]
            elif responses:
                hops = [(response.name, event.author) for response in responses]
            else:
                hops = [(event.author, None)]
            return {"dotSrc": agent_dot(root, dark_mode=True, highlights=hops)}

    def _add_trace_routes(self, app: FastAPI) -> None:
        @app.get(_APP + "/debug/trace/{event_id}")
        async def event_trace(app_name: str, event_id: str) -> dict[str, Any]:
            found = self.traces.event_trace(event_id) if self.traces is not None else None
            if found is None:
                raise HTTPException(status_code=404, detail="Trace not found")
            return found

        @app.get(_APP + "/debug/trace/session/{session_id}")
        async def session_trace(app_name: str, session_id: str) -> list[dict[str, Any]]:
            return self.traces.session_trace(session_id) if self.traces is not None else []
