"""An ADK-compatible HTTP server on trio: ``adk api_server``'s production routes.

:class:`ApiServer` is the app (FastAPI on Starlette, so anyio on trio), :func:`serve` runs
it with hypercorn's trio worker inside your trio run, :func:`build_services` picks the
services from ADK's command-line options.  ``trio-adk api_server`` puts them together::

    loader = AgentLoader("agents")
    services = build_services(loader, "agents")
    async with ApiServer(agent_loader=loader, services=services, own_services=True,
                         bind_host="127.0.0.1") as server:
        await serve(server, host="127.0.0.1", port=8000)

Beyond ADK: ``ApiServer(auth=BearerAuth(...) or HeaderAuth(), strict_user=True)`` (who may
call, and users bound to callers), :meth:`ApiServer.drain` (what ``serve`` does when its
shutdown trigger fires: 503 for new requests, runs in flight finish, then are cancelled),
and ``POST /run_sse?typed_events=true`` (``event: end`` / ``event: error`` frames).

Needs the ``server`` extra: ``pip install 'trio-adk[server]'``.
"""

from trio_adk.server._app import ApiServer as ApiServer
from trio_adk.server._auth import Authenticator as Authenticator
from trio_adk.server._auth import AuthError as AuthError
from trio_adk.server._auth import BearerAuth as BearerAuth
from trio_adk.server._auth import Caller as Caller
from trio_adk.server._auth import HeaderAuth as HeaderAuth
from trio_adk.server._drain import DrainReport as DrainReport
from trio_adk.server._loader import AgentLoaderLike as AgentLoaderLike
from trio_adk.server._serve import serve as serve
from trio_adk.server._services import PerAppArtifactService as PerAppArtifactService
from trio_adk.server._services import PerAppSessionService as PerAppSessionService
from trio_adk.server._services import Services as Services
from trio_adk.server._services import UnknownAppError as UnknownAppError
from trio_adk.server._services import build_services as build_services

__all__ = [
    "AgentLoaderLike",
    "ApiServer",
    "AuthError",
    "Authenticator",
    "BearerAuth",
    "Caller",
    "DrainReport",
    "HeaderAuth",
    "PerAppArtifactService",
    "PerAppSessionService",
    "Services",
    "UnknownAppError",
    "build_services",
    "serve",
]
