"""ADK 2.13's dev UI (``adk web``) on an :class:`ApiServer`: where its bundle is, and the
static mount, runtime config, redirects and ``/dev`` routes that serve it.

The bundle (an Angular app, Apache-2.0) ships inside the google-adk wheel; trio-adk does
not copy it.  :func:`find_dev_ui` takes it from, in order: a folder you name, the
google-adk installed beside trio-adk (``pip install 'trio-adk[web]'``), or the google-adk
of another interpreter (``TRIO_ADK_GOOGLE_ADK_PYTHON``).  google.adk itself is never
imported: the installed files are found through the package metadata.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from trio_adk.server._dev_routes import DevRoutes

if TYPE_CHECKING:
    from trio_adk.server._app import ApiServer
    from trio_adk.server._traces import SpanRing

_log = logging.getLogger("trio_adk.server")

ADK_PYTHON_ENV = "TRIO_ADK_GOOGLE_ADK_PYTHON"
"""An interpreter with google-adk installed, asked where its dev UI bundle is."""

UI_VERSION = "2.13"
"""The google-adk release whose dev UI the routes are written for."""

_BUNDLE = "google/adk/cli/browser"
_HOW_TO_GET_IT = ("pip install 'trio-adk[web]' (it brings google-adk 2.13, whose wheel holds "
                  "the UI), or give --ui_dir DIR or TRIO_ADK_GOOGLE_ADK_PYTHON=/path/to/python")
_ASK_INTERPRETER = (
    "import importlib.metadata as m, json\n"
    "d = m.distribution('google-adk')\n"
    f"print(json.dumps({{'path': str(d.locate_file('{_BUNDLE}')), 'version': d.version}}))\n"
)


class DevUiNotFoundError(LookupError):
    """No dev UI bundle where we looked; the message says how to get one (one line)."""


@attrs.frozen
class DevUiBundle:
    """A dev UI bundle: its folder (holding ``index.html``), where it came from, and its
    google-adk version when known."""

    path: Path
    source: str
    version: str | None = None


def _bundle_at(folder: Path) -> bool:
    return (folder / "index.html").is_file()


def _installed_bundle() -> DevUiBundle | None:
    try:
        dist = metadata.distribution("google-adk")
    except metadata.PackageNotFoundError:
        return None
    folder = Path(str(dist.locate_file(_BUNDLE)))
    if not _bundle_at(folder):
        return None
    return DevUiBundle(folder, f"google-adk {dist.version} (installed)", dist.version)


def _interpreter_bundle(python: str) -> DevUiBundle:
    try:
        done = subprocess.run([python, "-c", _ASK_INTERPRETER], capture_output=True,
                              text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DevUiNotFoundError(
            f"ADK's dev UI: cannot ask {python} ({exc}); {_HOW_TO_GET_IT}.") from None
    try:
        answer = json.loads(done.stdout.strip().splitlines()[-1])
        folder, version = Path(answer["path"]), str(answer["version"])
    except (IndexError, ValueError, KeyError, TypeError):
        raise DevUiNotFoundError(
            f"ADK's dev UI: {python} has no google-adk; {_HOW_TO_GET_IT}.") from None
    if not _bundle_at(folder):
        raise DevUiNotFoundError(
            f"ADK's dev UI: google-adk {version} of {python} has no {_BUNDLE}/index.html; "
            f"{_HOW_TO_GET_IT}.")
    return DevUiBundle(folder, f"google-adk {version} of {python}", version)


def find_dev_ui(ui_dir: str | os.PathLike[str] | None = None, *,
                adk_python: str | None = None) -> DevUiBundle:
    """Find ADK's dev UI bundle.

    Looks, in order, at ``ui_dir`` (a folder holding the bundle's ``index.html``), at the
    google-adk installed in this environment (through its package metadata, without
    importing it), then at the google-adk of ``adk_python`` (default: the
    ``TRIO_ADK_GOOGLE_ADK_PYTHON`` environment variable), which is run once to say where
    its bundle is.  A google-adk other than 2.13 is used with a warning: its UI may call
    routes this server does not have.

    Blocking (file checks, maybe a subprocess of up to a minute): call it before the trio
    run or through ``trio.to_thread.run_sync``.

    Raises:
        DevUiNotFoundError: nothing found; its one-line message says how to get the UI.
    """
    if ui_dir is not None:
        folder = Path(ui_dir).expanduser().resolve()
        if not _bundle_at(folder):
            raise DevUiNotFoundError(
                f"ADK's dev UI: {folder} has no index.html (give google-adk's {_BUNDLE} "
                "folder, or leave --ui_dir out to use the installed google-adk).")
        bundle = DevUiBundle(folder, str(folder))
    else:
        found = _installed_bundle()
        python = adk_python if adk_python is not None else os.environ.get(ADK_PYTHON_ENV)
        if found is None and python:
            found = _interpreter_bundle(python)
        if found is None:
            raise DevUiNotFoundError(f"ADK's dev UI was not found: {_HOW_TO_GET_IT}.")
        bundle = found
    if bundle.version is not None and not bundle.version.startswith(UI_VERSION + "."):
        _log.warning("Serving the dev UI of google-adk %s: trio-adk serves the routes of "
                     "%s's UI, so some panels may fail.", bundle.version, UI_VERSION)
    return bundle


class _UiFiles(StaticFiles):
    """The bundle's files.  Behind a proxy that strips ``--url_prefix`` from the path, the
    mount still puts the prefix into ``root_path``; put it back into the path for the
    file lookup, so the prefix is removed once, not twice."""

    def get_path(self, scope: Scope) -> str:
        prefix = scope.get("app_root_path", "")
        path = scope["path"]
        if prefix and path != prefix and not path.startswith(prefix + "/"):
            scope = {**scope, "path": prefix + path}
        return super().get_path(scope)


def add_dev_ui(server: ApiServer, ui_dir: str | os.PathLike[str], *,
               traces: SpanRing | None = None, logo_text: str | None = None,
               logo_image_url: str | None = None, telemetry: bool | None = False) -> None:
    """Serve ADK's dev UI from ``ui_dir`` on ``server.app``, as ``adk web`` does.

    Adds ``/dev-ui/`` (the bundle's files, read in worker threads by Starlette's
    ``StaticFiles``), ``/dev-ui/assets/config/runtime-config.json`` (the backend URL from
    the server's ``url_prefix``, the telemetry consent, the logo), ``/dev-ui/config``,
    redirects from ``/`` and ``/dev-ui`` to ``/dev-ui/``, and the ``/dev`` routes of
    :class:`~trio_adk.server._dev_routes.DevRoutes` (app structure and graph, the trace
    view over ``traces``, 501 for evaluation, builder, tests and deployment).  Call it
    once, before serving.  Each request is one task of the server's nursery: a client
    that goes away cancels it, and a file read in flight is abandoned.

    Raises:
        ValueError: only one of ``logo_text`` and ``logo_image_url`` given.
    """
    if bool(logo_text) != bool(logo_image_url):
        raise ValueError("Both --logo-text and --logo-image-url must be given for a logo.")
    app = server.app
    routes = DevRoutes(server, traces=traces, telemetry=telemetry)
    routes.add_to(app)
    prefix = server.url_prefix or ""
    landing = prefix.rstrip("/") + "/dev-ui/"

    @app.get("/dev-ui/assets/config/runtime-config.json", include_in_schema=False)
    async def runtime_config() -> JSONResponse:
        config: dict[str, Any] = {"backendUrl": prefix, "telemetry": routes.telemetry}
        if logo_text:
            config["logo"] = {"text": logo_text, "imageUrl": logo_image_url}
        return JSONResponse(config, headers={"Cache-Control": "no-store"})

    @app.get("/dev-ui/config", include_in_schema=False)
    async def ui_config() -> dict[str, str | None]:
        return {"logo_text": logo_text, "logo_image_url": logo_image_url}

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse(landing)

    @app.get("/dev-ui", include_in_schema=False)
    async def dev_ui() -> RedirectResponse:
        return RedirectResponse(landing)

    app.mount("/dev-ui/", _UiFiles(directory=os.fspath(ui_dir), html=True), name="dev-ui")
