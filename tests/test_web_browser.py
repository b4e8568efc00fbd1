"""ADK 2.13's dev UI, served by trio-adk, in a real browser: headless Chromium (Debian's
``chromium``) driven by Playwright's Python package, against a server on a real loopback
port whose agent talks to the fake Gemini server over the Gemini wire protocol.

Playwright's API is asyncio-only, so the browser is driven with its sync API in a worker
thread while the server runs in the test's trio run.  A screenshot of the conversation is
kept in the test's temporary folder and copied to ``tests/artifacts/``.
"""

from __future__ import annotations

import os
import pathlib
import shutil
from typing import Any

import pytest
import trio

from test_server_support import DictLoader, running
from trio_adk import Agent
from trio_adk.models import Gemini
from trio_adk.server._dev_ui import DevUiNotFoundError, add_dev_ui, find_dev_ui
from trio_adk.server._traces import SpanRing, collect_spans
from trio_adk.testing import FakeGeminiServer

ARTIFACTS = pathlib.Path(__file__).parent / "artifacts"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]
MESSAGE = "hello from the browser"


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("no chromium on PATH (Debian: apt-get install -y chromium)")
    return found


@pytest.fixture
def private_tracing(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The engine's tracer on a provider of the test's own (the global one stays as
    tests/test_telemetry.py sets it)."""
    sdk = pytest.importorskip("opentelemetry.sdk.trace")
    from trio_adk.telemetry import _instruments

    provider = sdk.TracerProvider()
    monkeypatch.setattr(_instruments, "tracer", provider.get_tracer(
        _instruments.TRACER_NAME, schema_url=_instruments.SCHEMA_URL))
    return provider


def drive_browser(chromium: str, url: str, screenshot: pathlib.Path,
                  session_id_of: Any) -> dict[str, Any]:
    """Pick the app, send a message, wait for the reply, open the session list (in a
    worker thread: Playwright's sync API runs its own event loop there)."""
    from playwright.sync_api import sync_playwright

    seen: dict[str, Any] = {"requests": [], "errors": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("request", lambda r: seen["requests"].append(
                f"{r.method} {r.url.removeprefix(url)}"))
            page.on("pageerror", lambda e: seen["errors"].append(str(e)))
            page.goto(url + "/", wait_until="networkidle")
            seen["landed"] = page.url
            page.get_by_role("button", name="Select an app").click()
            page.get_by_text("echo", exact=True).click()
            box = page.get_by_placeholder("Type a message...")
            box.fill(MESSAGE)
            box.press("Enter")
            page.get_by_text(f"You said: {MESSAGE}").wait_for(timeout=30_000)
            page.get_by_role("button", name=MESSAGE).first.click()  # the session list
            session_id = session_id_of()
            page.locator(".session-item", has_text=session_id).wait_for(timeout=30_000)
            seen["session_id"] = session_id
            page.screenshot(path=str(screenshot))
        finally:
            browser.close()
    return seen


@pytest.mark.slow
async def test_a_conversation_in_the_dev_ui(tmp_path: pathlib.Path,
                                            private_tracing: Any) -> None:
    """The UI loads, the app is picked, a message gets the fake model's reply streamed
    back over /run_sse, the session shows in the session list, and the run's spans reach
    the trace view."""
    chromium = _chromium()
    pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    try:
        bundle = await trio.to_thread.run_sync(find_dev_ui)
    except DevUiNotFoundError as exc:
        pytest.skip(str(exc))
    ring = SpanRing(1000)
    async with FakeGeminiServer() as gemini:
        agents = {
            "echo": Agent(name="echo", instruction="Echo.", model=Gemini(
                model="gemini-2.0-flash", base_url=gemini.base_url, api_key="k")),
            "other": Agent(name="other", model=Gemini(
                model="gemini-2.0-flash", base_url=gemini.base_url, api_key="k")),
        }
        with collect_spans(ring, provider=private_tracing):
            async with running(agents, loader=DictLoader(dict(agents))) as served:
                add_dev_ui(served.server, bundle.path, traces=ring)
                sessions = served.server.session_service

                def session_id_of() -> str:
                    listed = trio.from_thread.run(lambda: sessions.list_sessions(
                        app_name="echo", user_id="user"))
                    [session] = listed.sessions
                    return str(session.id)

                shot = tmp_path / "dev-ui.png"
                seen = await trio.to_thread.run_sync(
                    drive_browser, chromium, served.url, shot, session_id_of)
    assert served.url + "/dev-ui/" == seen["landed"]
    assert [] == seen["errors"]
    requests = seen["requests"]
    assert "GET /dev-ui/assets/config/runtime-config.json" in requests
    assert "GET /dev/apps/echo/build_graph" in requests
    assert "POST /run_sse" in requests
    assert "GET /apps/echo/users/user/sessions" in requests
    names = {span["name"] for span in ring.session_trace(seen["session_id"])}
    assert {"invoke_workflow echo", "invoke_agent echo",
            "generate_content gemini-2.0-flash"} <= names
    assert shot.stat().st_size > 10_000
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copyfile(shot, ARTIFACTS / "web-dev-ui.png")


def test_the_bundle_is_found_where_ci_puts_it() -> None:
    """CI exports TRIO_ADK_GOOGLE_ADK_PYTHON; the browser test must not skip silently
    there."""
    if not os.environ.get("TRIO_ADK_GOOGLE_ADK_PYTHON"):
        pytest.skip("TRIO_ADK_GOOGLE_ADK_PYTHON is not set")
    assert (find_dev_ui().path / "index.html").is_file()
