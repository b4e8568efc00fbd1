"""``ApiServer``: ADK 2.13's production routes as a FastAPI app that runs on trio.

The routes, bodies, status codes and error bodies are ADK's (``adk api_server``): JSON is
camelCase out and camelCase or snake_case in; errors are ``{"detail": ...}`` with ADK's
wording.  The web mode adds its routes and its static mount to :attr:`ApiServer.app`
before serving; the production routes stay as they are.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import uuid
from collections.abc import AsyncGenerator
from contextlib import aclosing
from importlib import metadata
from typing import Any

import pydantic
import trio
from fastapi import FastAPI, HTTPException, Query, Request, Response, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from google.genai import types
from starlette.middleware.cors import CORSMiddleware

from trio_adk._runner import Runner
from trio_adk._utils._checks import check_id
from trio_adk.agents._base_agent import BaseAgent
from trio_adk.agents._llm_agent import LlmAgent
from trio_adk.agents._run_config import RunConfig, StreamingMode
from trio_adk.errors import AlreadyExistsError, SessionNotFoundError
from trio_adk.events._event import Event
from trio_adk.events._event_actions import EventActions
from trio_adk.server._auth import Authenticator, AuthError, AuthMiddleware, require_user
from trio_adk.server._drain import Drain, DrainMiddleware, DrainReport
from trio_adk.server._guard import DefaultAppMiddleware, OriginCheckMiddleware, OriginPolicy
from trio_adk.server._live import live_run_config, serve_live
from trio_adk.server._loader import AgentLoaderLike
from trio_adk.server._models import (
    AppInfo,
    CreateSessionRequest,
    RunAgentRequest,
    SaveArtifactRequest,
    UpdateMemoryRequest,
    UpdateSessionRequest,
)
from trio_adk.server._runners import AppLoadError, AppNotFoundError, RunnerPool
from trio_adk.server._services import Services, UnknownAppError, save_with_metadata
from trio_adk.server._streams import EventStream, until_disconnect
from trio_adk.server._wire import event_json, mark_restored, session_json
from trio_adk.sessions._session import GetSessionConfig, Session

_log = logging.getLogger("trio_adk.server")

_SPECIAL_APPS = ("Access to internal special agents is disabled in API server mode and on a "
                 "development server not known to be bound to a loopback address.")
_NO_APP_NAME = "app_name is required when ADK_DEFAULT_APP_NAME is not set"
_EVAL_PREFIXES = ("adk-eval-session-", "___eval___session___")
_CLIENT_CALLS = frozenset({"adk_request_credential", "adk_request_confirmation",
                           "adk_request_input"})


def _version() -> str:
    try:
        return metadata.version("trio-adk")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _ids(**ids: str) -> None:
    """400 naming the first id that cannot be an app name, user id or session id."""
    for name, value in ids.items():
        try:
            check_id(value, name)
        except (TypeError, ValueError) as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None


def _sessions(value: Session | list[Session]) -> JSONResponse:
    if isinstance(value, list):
        return JSONResponse([session_json(s) for s in value])
    return JSONResponse(session_json(value))


def _model(value: pydantic.BaseModel) -> JSONResponse:
    return JSONResponse(value.model_dump(mode="json", by_alias=True, exclude_none=True))


def _version_id(version_id: str) -> int | None:
    if version_id == "latest":
        return None
    try:
        return int(version_id)
    except ValueError:
        raise HTTPException(status_code=422, detail="Invalid version ID") from None


def _restore_events(raw: list[dict[str, Any]]) -> list[Event]:
    """Client events for a new session, refused (400) when they claim to be ADK's own."""
    events: list[Event] = []
    for index, data in enumerate(raw):
        try:
            event = Event.model_validate(data)
        except (TypeError, ValueError) as exc:
            raise RequestValidationError([{
                "type": "value_error", "loc": ("body", "events", index),
                "msg": f"Not an event: {exc}", "input": data}]) from None
        what = None
        if event.long_running_tool_ids:
            what = "long-running tool IDs"
        elif event.actions != EventActions():
            what = "event actions"
        elif any(name in _CLIENT_CALLS for name in (
                [call.name for call in event.get_function_calls()]
                + [response.name for response in event.get_function_responses()])):
            what = "ADK protocol function calls"
        if what is not None:
            raise HTTPException(status_code=400, detail=(
                f"Session initialization event {index} cannot include {what}."))
        events.append(event)
    return events


def _tool_declarations(agent: LlmAgent) -> list[dict[str, Any]]:
    """The agent's tools as ``types.Tool`` JSON (toolsets are listed by their tools only
    once the agent has run, so they are left out here)."""
    from trio_adk.tools._base_tool import BaseTool, BaseToolset
    from trio_adk.tools._function_tool import FunctionTool

    out: list[dict[str, Any]] = []
    for tool in agent.tools:
        if isinstance(tool, BaseToolset):
            continue
        concrete = tool if isinstance(tool, BaseTool) else FunctionTool(tool)
        declaration = concrete._get_declaration()
        if declaration is not None:
            out.append(types.Tool(function_declarations=[declaration]).model_dump(
                mode="json", by_alias=True, exclude_none=True))
    return out


def _agents_info(root: LlmAgent) -> dict[str, Any]:
    """ADK's ``agents`` map for app-info: every LLM agent of the tree by name."""
    found: dict[str, Any] = {}

    def visit(agent: LlmAgent) -> None:
        if agent.name in found:
            return
        subs = [sub for sub in agent.sub_agents if isinstance(sub, LlmAgent)]
        for sub in subs:
            visit(sub)
        instruction = agent.instruction
        if callable(instruction):
            label = getattr(instruction, "__name__", None) or type(instruction).__name__
            instruction = f"<InstructionProvider: {label}>"
        found[agent.name] = {"name": agent.name, "description": agent.description,
                             "instruction": instruction, "tools": _tool_declarations(agent),
                             "sub_agents": [sub.name for sub in subs]}

    visit(root)
    return found


class ApiServer:
    """ADK's production API over one agents directory, as an ASGI app that runs on trio.

    Build it with the apps' loader and the services, serve :attr:`app` (see
    :func:`trio_adk.server.serve`), and close it with ``await server.aclose()`` or
    ``async with server:``: that closes every app's runner (runs still in flight are
    cancelled and their cleanup awaited; shielded, bounded) and, with ``own_services``,
    the services.

    Each app gets one :class:`~trio_adk.Runner`, built the first time a request needs it
    (its agent imported in a worker thread) and kept until the server closes.

    Args:
        agent_loader: Finds and imports the apps (``trio_adk.apps.AgentLoader``, or any
            object with its four methods: :class:`AgentLoaderLike`).
        services: The session, artifact and memory services (see ``build_services``).
        allow_origins: CORS origins; ``regex:`` entries are patterns (see
            ``trio_adk.server._guard``).
        bind_host: The address the server listens on: a loopback one turns on the
            DNS-rebinding guard; ``None`` (unknown) leaves it off.
        url_prefix: The path the server is mounted under behind a proxy (``/adk``, or a
            full URL whose path is used).
        auto_create_session: Runs on a missing session create it instead of 404.
        default_app_name: The app for paths and bodies that name none (default: the
            ``ADK_DEFAULT_APP_NAME`` environment variable).
        own_services: Close ``services`` in :meth:`aclose`.
        max_llm_calls: Cap on model calls per run (ADK's ``--max_llm_calls``).
        auth: Who may call (``None``: anyone, as ADK; see ``trio_adk.server._auth``):
            ``BearerAuth``, ``HeaderAuth`` or any :class:`Authenticator`.
        strict_user: Bind the user of paths, run bodies and ``/run_live`` to the
            authenticated caller (403 otherwise); needs ``auth``.
    """

    def __init__(self, *, agent_loader: AgentLoaderLike, services: Services,
                 allow_origins: tuple[str, ...] | list[str] = (),
                 bind_host: str | None = None, url_prefix: str | None = None,
                 auto_create_session: bool = False, default_app_name: str | None = None,
                 own_services: bool = False, max_llm_calls: int | None = None,
                 auth: Authenticator | None = None, strict_user: bool = False) -> None:
        if strict_user and auth is None:
            raise ValueError("strict_user binds users to authenticated callers: pass auth too.")
        self.agent_loader = agent_loader
        self.services = services
        self.auto_create_session = auto_create_session
        self.default_app_name = (default_app_name if default_app_name is not None
                                 else os.environ.get("ADK_DEFAULT_APP_NAME") or None)
        self.url_prefix = url_prefix
        self.max_llm_calls = max_llm_calls
        self.policy = OriginPolicy.from_options(allow_origins, bind_host)
        self.runners = RunnerPool(agent_loader, services,
                                  auto_create_session=auto_create_session)
        self.auth = auth
        self.strict_user = strict_user
        self.requests = Drain()
        """The requests in flight (see :meth:`drain`)."""
        self._own_services = own_services
        self._closed = False
        self.app: FastAPI = self._build_app()
        """The ASGI app; the web mode adds routes and a static mount to it."""

    def __repr__(self) -> str:
        return f"<ApiServer {self.runners!r} {'closed' if self._closed else 'open'}>"

    async def __aenter__(self) -> ApiServer:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def draining(self) -> bool:
        """Whether :meth:`drain` was called (new requests are refused with 503)."""
        return self.requests.draining

    async def drain(self, grace: float = 30.0) -> DrainReport:
        """Stop taking requests, let those in flight finish, then cancel the rest.

        From now on new HTTP requests and WebSocket handshakes get 503.  Requests in flight
        get up to ``grace`` seconds to end by themselves; then they are cancelled: each
        run's cleanup is awaited (shielded, bounded), a request that had not answered gets
        503 and a live socket is closed with 1001.  :func:`serve` calls this when its
        ``shutdown_trigger`` fires; the server stays usable for :meth:`aclose` afterwards.
        Cancelling ``drain`` stops its waiting; the refusal stays.
        """
        return await self.requests.drain(grace)

    async def aclose(self) -> None:
        """Close the runners (runs in flight cancelled, cleanup awaited), then the
        services if the server owns them.  Shielded and bounded; idempotent."""
        if self._closed:
            return
        self._closed = True
        with trio.CancelScope(shield=True):
            await self.runners.aclose()
            if self._own_services:
                await self.services.aclose()

    # -- helpers used by the routes ----------------------------------------------------

    @property
    def session_service(self) -> Any:
        return self.services.session_service

    @property
    def artifact_service(self) -> Any:
        return self.services.artifact_service

    async def runner(self, app_name: str) -> Runner:
        """The app's runner; 403 for ``__`` apps, 404 unknown, 500 failed to load."""
        if app_name.startswith("__"):
            raise HTTPException(status_code=403, detail=_SPECIAL_APPS)
        try:
            return await self.runners.get(app_name)
        except AppNotFoundError as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from None
        except AppLoadError as exc:
            raise HTTPException(status_code=500, detail=str(exc)) from None
        except trio.ClosedResourceError:
            raise HTTPException(status_code=503, detail="The server is shutting down.") from None

    def _run_config(self, **fields: Any) -> RunConfig:
        if self.max_llm_calls is not None:
            fields["max_llm_calls"] = self.max_llm_calls
        try:
            return RunConfig(**fields)
        except (TypeError, ValueError) as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None

    def _resolve_run(self, req: RunAgentRequest, request: Request) -> str:
        app_name = req.app_name or self.default_app_name
        if not app_name:
            raise HTTPException(status_code=400, detail=_NO_APP_NAME)
        _ids(app_name=app_name, user_id=req.user_id, session_id=req.session_id)
        require_user(request.scope, req.user_id)
        if req.service_tier is not None:
            _log.info("serviceTier %r ignored: trio-adk's models have no serving tier.",
                      req.service_tier)
        return app_name

    def _run_events(self, runner: Runner, req: RunAgentRequest,
                    run_config: RunConfig) -> AsyncGenerator[Event, None]:
        return runner.run_async(user_id=req.user_id, session_id=req.session_id,
                                invocation_id=req.invocation_id,
                                new_message=req.new_message, state_delta=req.state_delta,
                                run_config=run_config)

    # -- the app ---------------------------------------------------------------------------

    def _build_app(self) -> FastAPI:
        root_path = ""
        if self.url_prefix:
            prefix = self.url_prefix
            if prefix.startswith(("http://", "https://")):
                from urllib.parse import urlsplit

                prefix = urlsplit(prefix).path
            if prefix and not prefix.startswith("/"):
                prefix = "/" + prefix
            root_path = prefix.rstrip("/")
        app = FastAPI(title="trio-adk", version=_version(), root_path=root_path)
        if self.auth is not None:
            app.add_middleware(AuthMiddleware, auth=self.auth, strict=self.strict_user)
        if self.policy.configured:
            app.add_middleware(CORSMiddleware, allow_origins=list(self.policy.literal),
                               allow_origin_regex=self.policy.cors_regex,
                               allow_credentials=True, allow_methods=["*"],
                               allow_headers=["*"])
        app.add_middleware(OriginCheckMiddleware, policy=self.policy)
        app.add_middleware(DefaultAppMiddleware, default_app_name=self.default_app_name)
        app.add_middleware(DrainMiddleware, drain=self.requests)

        @app.exception_handler(AuthError)
        async def refused(request: Request, exc: AuthError) -> JSONResponse:
            headers = ({"WWW-Authenticate": exc.challenge}
                       if exc.status == 401 and exc.challenge else None)
            return JSONResponse({"detail": str(exc)}, status_code=exc.status, headers=headers)

        @app.exception_handler(UnknownAppError)
        async def unknown_app(request: Request, exc: UnknownAppError) -> JSONResponse:
            return JSONResponse({"detail": str(exc)}, status_code=404)

        @app.exception_handler(NotImplementedError)
        async def not_implemented(request: Request, exc: NotImplementedError) -> JSONResponse:
            return JSONResponse({"detail": str(exc)}, status_code=501)

        self._add_meta_routes(app)
        self._add_session_routes(app)
        self._add_artifact_routes(app)
        self._add_run_routes(app)
        return app

    def _add_meta_routes(self, app: FastAPI) -> None:
        @app.get("/health")
        async def health() -> dict[str, str]:
            return {"status": "ok"}

        @app.get("/version")
        async def version() -> dict[str, str]:
            info = sys.version_info
            return {"version": _version(), "language": "python",
                    "language_version": f"{info.major}.{info.minor}.{info.micro}"}

        @app.get("/list-apps")
        async def list_apps(detailed: bool = Query(default=False)) -> Any:
            names = await trio.to_thread.run_sync(self.agent_loader.list_agents)
            if not detailed:
                return names
            apps = []
            for name in names:
                try:
                    agent = await self.runners.load_agent(name)
                except (AppNotFoundError, AppLoadError):
                    continue
                apps.append(AppInfo(name=name, root_agent_name=agent.name,
                                    description=agent.description).model_dump(
                                        mode="json", by_alias=True))
            return {"apps": apps}

        @app.get("/apps/{app_name}/app-info")
        async def app_info(app_name: str) -> JSONResponse:
            if app_name.startswith("__"):
                raise HTTPException(status_code=403, detail=_SPECIAL_APPS)
            try:
                agent: BaseAgent = await self.runners.load_agent(app_name)
            except AppNotFoundError as exc:
                raise HTTPException(status_code=404, detail=str(exc)) from None
            except AppLoadError as exc:
                raise HTTPException(status_code=500, detail=str(exc)) from None
            if not isinstance(agent, LlmAgent):
                raise HTTPException(status_code=400, detail="Root agent is not an LlmAgent")
            info = AppInfo(name=app_name, root_agent_name=agent.name,
                           description=agent.description, agents=_agents_info(agent))
            return _model(info)

    def _add_session_routes(self, app: FastAPI) -> None:
        base = "/apps/{app_name}/users/{user_id}/sessions"

        async def create(app_name: str, user_id: str, *, session_id: str | None,
                         state: dict[str, Any] | None,
                         options: dict[str, Any] | None = None) -> Session:
            _ids(app_name=app_name, user_id=user_id)
            if options:
                bound = sorted(options.keys() & {"app_name", "user_id", "state", "session_id"})
                if bound:
                    raise HTTPException(status_code=400, detail=(
                        "Session options cannot contain keys already bound by the "
                        f"endpoint: {', '.join(bound)}"))
                raise HTTPException(status_code=400, detail=(
                    "Session options are not supported by the configured session service."))
            try:
                session: Session = await self.session_service.create_session(
                    app_name=app_name, user_id=user_id, state=state, session_id=session_id)
                return session
            except AlreadyExistsError:
                raise HTTPException(status_code=409,
                                    detail=f"Session already exists: {session_id}") from None
            except UnknownAppError:
                raise
            except (ValueError, TypeError) as exc:
                raise HTTPException(status_code=400, detail=str(exc)) from None

        @app.get(base + "/{session_id}")
        async def get_session(app_name: str, user_id: str, session_id: str) -> JSONResponse:
            _ids(app_name=app_name, user_id=user_id, session_id=session_id)
            session = await self.session_service.get_session(
                app_name=app_name, user_id=user_id, session_id=session_id)
            if session is None:
                raise HTTPException(status_code=404, detail="Session not found")
            return _sessions(session)

        @app.get(base)
        async def list_sessions(app_name: str, user_id: str) -> JSONResponse:
            _ids(app_name=app_name, user_id=user_id)
            listed = await self.session_service.list_sessions(app_name=app_name,
                                                              user_id=user_id)
            return _sessions([s for s in listed.sessions if not s.id.startswith(_EVAL_PREFIXES)])

        @app.post(base + "/{session_id}")
        async def create_session_with_id(app_name: str, user_id: str, session_id: str,
                                         state: dict[str, Any] | None = None) -> JSONResponse:
            _ids(session_id=session_id)
            return _sessions(await create(app_name, user_id, session_id=session_id,
                                          state=state))

        @app.post(base)
        async def create_session(app_name: str, user_id: str,
                                 req: CreateSessionRequest | None = None) -> JSONResponse:
            if req is None:
                return _sessions(await create(app_name, user_id, session_id=None, state=None))
            events = _restore_events(req.events) if req.events else []
            session = await create(app_name, user_id, session_id=req.session_id,
                                   state=req.state, options=req.options)
            for event in events:
                await self.session_service.append_event(session, mark_restored(event))
            return _sessions(session)

        @app.delete(base + "/{session_id}")
        async def delete_session(app_name: str, user_id: str, session_id: str) -> None:
            _ids(app_name=app_name, user_id=user_id, session_id=session_id)
            await self.session_service.delete_session(app_name=app_name, user_id=user_id,
                                                      session_id=session_id)

        @app.patch(base + "/{session_id}")
        async def update_session(app_name: str, user_id: str, session_id: str,
                                 req: UpdateSessionRequest) -> JSONResponse:
            _ids(app_name=app_name, user_id=user_id, session_id=session_id)
            session = await self.session_service.get_session(
                app_name=app_name, user_id=user_id, session_id=session_id)
            if session is None:
                raise HTTPException(status_code=404, detail="Session not found")
            event = Event(invocation_id=f"p-{uuid.uuid4()}", author="user",
                          actions=EventActions(state_delta=req.state_delta))
            try:
                await self.session_service.append_event(session, event)
            except (TypeError, ValueError) as exc:
                raise HTTPException(status_code=400, detail=str(exc)) from None
            return _sessions(session)

        @app.patch("/apps/{app_name}/users/{user_id}/memory")
        async def patch_memory(app_name: str, user_id: str,
                               req: UpdateMemoryRequest) -> None:
            _ids(app_name=app_name, user_id=user_id, session_id=req.session_id)
            session = await self.session_service.get_session(
                app_name=app_name, user_id=user_id, session_id=req.session_id)
            if session is None:
                raise HTTPException(status_code=404, detail="Session not found")
            await self.services.memory_service.add_session_to_memory(session)

    def _add_artifact_routes(self, app: FastAPI) -> None:
        base = "/apps/{app_name}/users/{user_id}/sessions/{session_id}/artifacts"
        named = base + "/{artifact_name:path}"

        @app.get(named + "/versions/{version_id}/metadata")
        async def version_metadata(app_name: str, user_id: str, session_id: str,
                                   artifact_name: str, version_id: str) -> JSONResponse:
            version = _version_id(version_id)
            _ids(app_name=app_name, user_id=user_id, session_id=session_id)
            found = await self.artifact_service.get_artifact_version(
                app_name=app_name, user_id=user_id, session_id=session_id,
                filename=artifact_name, version=version)
            if found is None:
                raise HTTPException(status_code=404, detail="Artifact version not found")
            return _model(found)

        @app.get(named + "/versions/metadata")
        async def versions_metadata(app_name: str, user_id: str, session_id: str,
                                    artifact_name: str) -> JSONResponse:
            _ids(app_name=app_name, user_id=user_id, session_id=session_id)
            versions = await self.artifact_service.list_artifact_versions(
                app_name=app_name, user_id=user_id, session_id=session_id,
                filename=artifact_name)
            return JSONResponse([v.model_dump(mode="json", by_alias=True, exclude_none=True)
                                 for v in versions])

        @app.post(base)
        async def save_artifact(app_name: str, user_id: str, session_id: str,
                                req: SaveArtifactRequest) -> JSONResponse:
            _ids(app_name=app_name, user_id=user_id, session_id=session_id)
            try:
                version = await save_with_metadata(
                    self.artifact_service, app_name=app_name, user_id=user_id,
                    session_id=session_id, filename=req.filename, artifact=req.artifact,
                    custom_metadata=req.custom_metadata)
            except UnknownAppError:
                raise
            except (TypeError, ValueError) as exc:
                raise HTTPException(status_code=400, detail=str(exc)) from None
            try:
                found = await self.artifact_service.get_artifact_version(
                    app_name=app_name, user_id=user_id, session_id=session_id,
                    filename=req.filename, version=version)
            except NotImplementedError:  # a store without metadata (in memory)
                mime = req.artifact.inline_data.mime_type if req.artifact.inline_data else None
                return JSONResponse({
                    "version": version,
                    "canonicalUri": (f"memory://apps/{app_name}/users/{user_id}/sessions/"
                                     f"{session_id}/artifacts/{req.filename}/versions/"
                                     f"{version}"),
                    "customMetadata": {}, "createTime": time.time(),
                    "mimeType": mime or "text/plain"})
            if found is None:
                raise HTTPException(status_code=500, detail="Artifact metadata unavailable")
            return _model(found)

        @app.get(named + "/versions/{version_id}")
        async def load_version(app_name: str, user_id: str, session_id: str,
                               artifact_name: str, version_id: str) -> JSONResponse:
            version = _version_id(version_id)
            _ids(app_name=app_name, user_id=user_id, session_id=session_id)
            part = await self.artifact_service.load_artifact(
                app_name=app_name, user_id=user_id, session_id=session_id,
                filename=artifact_name, version=version)
            if not part:
                raise HTTPException(status_code=404, detail="Artifact not found")
            return _model(part)

        @app.get(base)
        async def list_names(app_name: str, user_id: str, session_id: str) -> list[str]:
            _ids(app_name=app_name, user_id=user_id, session_id=session_id)
            names: list[str] = await self.artifact_service.list_artifact_keys(
                app_name=app_name, user_id=user_id, session_id=session_id)
            return names

        @app.get(named + "/versions")
        async def list_versions(app_name: str, user_id: str, session_id: str,
                                artifact_name: str) -> list[int]:
            _ids(app_name=app_name, user_id=user_id, session_id=session_id)
            versions: list[int] = await self.artifact_service.list_versions(
                app_name=app_name, user_id=user_id, session_id=session_id,
                filename=artifact_name)
            return versions

        @app.get(named)
        async def load_artifact(app_name: str, user_id: str, session_id: str,
                                artifact_name: str,
                                version: int | None = Query(None)) -> JSONResponse:
            _ids(app_name=app_name, user_id=user_id, session_id=session_id)
            part = await self.artifact_service.load_artifact(
                app_name=app_name, user_id=user_id, session_id=session_id,
                filename=artifact_name, version=version)
            if not part:
                raise HTTPException(status_code=404, detail="Artifact not found")
            return _model(part)

        @app.delete(named)
        async def delete_artifact(app_name: str, user_id: str, session_id: str,
                                  artifact_name: str) -> None:
            _ids(app_name=app_name, user_id=user_id, session_id=session_id)
            await self.artifact_service.delete_artifact(
                app_name=app_name, user_id=user_id, session_id=session_id,
                filename=artifact_name)

    def _add_run_routes(self, app: FastAPI) -> None:
        @app.post("/run")
        async def run(req: RunAgentRequest, request: Request) -> Response:
            """Run to the end and answer with every event; a client that disconnects
            cancels the run (its cleanup awaited) and gets 499."""
            app_name = self._resolve_run(req, request)
            runner = await self.runner(app_name)
            fields: dict[str, Any] = {}
            if req.custom_metadata:
                fields["custom_metadata"] = req.custom_metadata
            run_config = self._run_config(**fields)

            async def collect() -> list[dict[str, Any]]:
                async with aclosing(self._run_events(runner, req, run_config)) as events:
                    return [event_json(event) async for event in events]

            try:
                events, gone = await until_disconnect(request.receive, collect)
            except SessionNotFoundError:
                raise HTTPException(status_code=404,
                                    detail=f"Session not found: {req.session_id}") from None
            if gone.happened:
                _log.warning("Client disconnected. Agent run for session %s cancelled.",
                             req.session_id)
                return Response(status_code=499)
            return JSONResponse(events)

        @app.post("/run_sse")
        async def run_sse(req: RunAgentRequest, request: Request,
                          typed_events: bool = Query(default=False)) -> Response:
            """Stream the run's events as Server-Sent Events (see ``EventStream``);
            ``?typed_events=true`` adds the ``event: end`` / ``event: error`` frames."""
            app_name = self._resolve_run(req, request)
            runner = await self.runner(app_name)
            fields: dict[str, Any] = {
                "streaming_mode": StreamingMode.SSE if req.streaming else StreamingMode.NONE}
            if req.custom_metadata:
                fields["custom_metadata"] = req.custom_metadata
            run_config = self._run_config(**fields)
            if not runner.auto_create_session:
                session = await self.session_service.get_session(
                    app_name=app_name, user_id=req.user_id, session_id=req.session_id,
                    config=GetSessionConfig(num_recent_events=0))
                if session is None:
                    raise HTTPException(status_code=404,
                                        detail=f"Session not found: {req.session_id}")
            return EventStream(lambda: self._run_events(runner, req, run_config),
                               split_artifacts=not req.function_call_event_id,
                               typed=typed_events)

        @app.websocket("/run_live")
        async def run_live(websocket: WebSocket) -> None:
            """The live protocol of ``trio_adk.server._live``."""
            await self._run_live(websocket)

    async def _run_live(self, websocket: WebSocket) -> None:
        scope = websocket.scope
        query = websocket.query_params
        if self.policy.rebinding(scope):
            await websocket.close(code=1008, reason="Host not allowed")
            return
        app_name = query.get("app_name") or self.default_app_name
        if not app_name:
            await websocket.close(code=1008, reason=(
                "app_name query parameter is required when ADK_DEFAULT_APP_NAME is not set"))
            return
        origin = websocket.headers.get("origin")
        if origin is not None and not self.policy.origin_allowed(origin, scope):
            await websocket.close(code=1008, reason="Origin not allowed")
            return
        user_id, session_id = query.get("user_id"), query.get("session_id")
        try:
            if user_id is None or session_id is None:
                raise ValueError("user_id and session_id query parameters are required")
            check_id(app_name, "app_name")
            check_id(user_id, "user_id")
            check_id(session_id, "session_id")
            run_config = live_run_config(query)
        except (TypeError, ValueError) as exc:
            await websocket.close(code=1008, reason=str(exc)[:123])
            return
        if app_name.startswith("__"):
            await websocket.close(code=1008, reason="Access to internal agents is disabled")
            return
        await websocket.accept()
        try:
            runner = await self.runners.get(app_name)
        except AppNotFoundError as exc:
            await websocket.close(code=1008, reason=str(exc)[:123])
            return
        except (AppLoadError, trio.ClosedResourceError) as exc:
            await websocket.close(code=1011, reason=str(exc)[:123])
            return
        await serve_live(websocket, runner, user_id=user_id, session_id=session_id,
                         run_config=run_config)
