"""``trio-adk web``'s routes, on a real loopback server: the dev UI's runtime config and
redirects, the app's structure and graph, the trace view filled by our own spans (each
event's trace is the span that produced it), the 501s for what trio-adk does not offer,
and how the UI bundle is found."""

from __future__ import annotations

import os
import pathlib
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from test_server_support import DictLoader, Served, running, sse_events, user_message
from trio_adk import Agent
from trio_adk.server._dev_routes import NOT_OFFERED
from trio_adk.server._dev_ui import DevUiNotFoundError, add_dev_ui, find_dev_ui
from trio_adk.server._traces import SpanRing, collect_spans
from trio_adk.testing import ScriptedModel, function_call, text

INDEX = "<!doctype html><title>dev ui</title>"


def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def weather_agent() -> Agent:
    helper = Agent(name="helper", description="Helps", model=ScriptedModel(replies=["ok"]))
    return Agent(name="weather", description="Weather", instruction="Say the weather.",
                 tools=[get_weather], sub_agents=[helper],
                 model=ScriptedModel(replies=[function_call("get_weather", {"city": "Oslo"}),
                                              text("It is sunny in Oslo.")], repeat=True))


@pytest.fixture
def private_tracing(monkeypatch: pytest.MonkeyPatch) -> Any:
    """An SDK tracer provider of the test's own behind the engine's tracer: the process's
    global provider stays untouched (OpenTelemetry lets it be set once, and
    tests/test_telemetry.py sets it)."""
    sdk = pytest.importorskip("opentelemetry.sdk.trace")
    from trio_adk.telemetry import _instruments

    provider = sdk.TracerProvider()
    monkeypatch.setattr(_instruments, "tracer", provider.get_tracer(
        _instruments.TRACER_NAME, schema_url=_instruments.SCHEMA_URL))
    return provider


@pytest.fixture
def ui_dir(tmp_path: pathlib.Path) -> pathlib.Path:
    folder = tmp_path / "browser"
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_text(INDEX)
    (folder / "main.js").write_text("console.log('ui');\n")
    return folder


@asynccontextmanager
async def web(ui: pathlib.Path, ring: SpanRing | None = None, *, loader: DictLoader | None = None,
              **options: Any) -> AsyncIterator[Served]:
    ui_options = {key: options.pop(key) for key in ("logo_text", "logo_image_url")
                  if key in options}
    async with running({"weather": weather_agent}, loader=loader, **options) as served:
        add_dev_ui(served.server, ui, traces=ring, **ui_options)
        yield served


async def test_runtime_config_redirects_and_static_files(ui_dir: pathlib.Path) -> None:
    """As adk web: runtime-config.json (not cached) names the backend and says telemetry
    is off; / and /dev-ui redirect to /dev-ui/, which serves the bundle's files."""
    async with web(ui_dir) as served, served.client() as client:
        config = await client.get("/dev-ui/assets/config/runtime-config.json")
        assert 200 == config.status_code
        assert {"backendUrl": "", "telemetry": False} == config.json()
        assert "no-store" == config.headers["cache-control"]
        for path in ("/", "/dev-ui"):
            moved = await client.get(path)
            assert 307 == moved.status_code
            assert "/dev-ui/" == moved.headers["location"]
        index = await client.get("/dev-ui/")
        assert (200, INDEX) == (index.status_code, index.text)
        assert "javascript" in (await client.get("/dev-ui/main.js")).headers["content-type"]
        assert 404 == (await client.get("/dev-ui/missing.js")).status_code
        assert {"status": "ok"} == (await client.get("/health")).json()


# ApiServer passes url_prefix to FastAPI's root_path, which FastAPI 0.165 deprecates.
@pytest.mark.filterwarnings("ignore:The `root_path` parameter is deprecated")
async def test_runtime_config_with_prefix_and_logo(ui_dir: pathlib.Path) -> None:
    """--url_prefix becomes the UI's backendUrl and the redirect target; a logo is passed
    through; a proxy that strips the prefix still gets the bundle's files."""
    async with web(ui_dir, url_prefix="/adk", logo_text="Acme",
                   logo_image_url="https://example.com/logo.png") as served, \
            served.client() as client:
        config = (await client.get("/dev-ui/assets/config/runtime-config.json")).json()
        assert {"backendUrl": "/adk", "telemetry": False,
                "logo": {"text": "Acme", "imageUrl": "https://example.com/logo.png"}} == config
        assert "/adk/dev-ui/" == (await client.get("/")).headers["location"]
        assert INDEX == (await client.get("/dev-ui/")).text  # a proxy stripped /adk
        assert INDEX == (await client.get("/adk/dev-ui/")).text  # a proxy kept it
        assert {"logo_text": "Acme", "logo_image_url": "https://example.com/logo.png"} == (
            await client.get("/dev-ui/config")).json()


async def test_logo_needs_both_options(ui_dir: pathlib.Path) -> None:
    async with running({}) as served:
        with pytest.raises(ValueError, match="Both"):
            add_dev_ui(served.server, ui_dir, logo_text="Acme")


async def test_telemetry_consent_is_kept_in_the_process(ui_dir: pathlib.Path) -> None:
    """The UI's consent switch: it needs the UI's header, and it changes what
    runtime-config says, for this server only."""
    async with web(ui_dir) as served, served.client() as client:
        assert {"telemetry": False} == (await client.get("/config/telemetry")).json()
        refused = await client.post("/config/telemetry", json={"telemetry": True})
        assert (400, {"detail": "Forbidden: missing required security header"}) == (
            refused.status_code, refused.json())
        done = await client.post("/config/telemetry", json={"telemetry": True},
                                 headers={"X-ADK-Telemetry-Request": "true"})
        assert {"telemetry": True} == done.json()
        assert True is (await client.get(
            "/dev-ui/assets/config/runtime-config.json")).json()["telemetry"]


async def test_build_graph_is_the_agent_tree_with_its_readme(
        ui_dir: pathlib.Path, tmp_path: pathlib.Path) -> None:
    """build_graph: ADK's shape ({name, root_agent{..., sub_agents, tools}, readme})."""
    (tmp_path / "apps" / "weather").mkdir(parents=True)
    (tmp_path / "apps" / "weather" / "README.md").write_text("# Weather\n")
    loader = DictLoader({"weather": weather_agent}, root=tmp_path / "apps")
    async with web(ui_dir, loader=loader) as served, served.client() as client:
        info = (await client.get("/dev/apps/weather/build_graph")).json()
        assert {"name", "root_agent", "readme"} == set(info)
        assert "# Weather\n" == info["readme"]
        root = info["root_agent"]
        assert ("weather", "Weather", "Say the weather.") == (
            root["name"], root["description"], root["instruction"])
        assert [{"name": "get_weather", "type": "tool"}] == root["tools"]
        [helper] = root["sub_agents"]
        assert ("helper", [], []) == (helper["name"], helper["sub_agents"], helper["tools"])
        assert not any(key.endswith("callback") for key in root)
        assert 404 == (await client.get("/dev/apps/nope/build_graph")).status_code


async def test_graphs_are_dot_text(ui_dir: pathlib.Path) -> None:
    """build_graph_image and graph answer DOT source under ``dotSrc`` (the UI renders it);
    an event's graph highlights its hop; unknown nodes and events as ADK."""
    async with web(ui_dir) as served, served.client() as client:
        images = (await client.get("/dev/apps/weather/build_graph_image",
                                   params={"dark_mode": "true"})).json()
        assert [""] == list(images)
        dot = images[""]["dotSrc"]
        assert dot.startswith("digraph")
        assert '"weather" -> "helper"' in dot
        assert '"weather" -> "get_weather"' in dot
        sub = (await client.get("/dev/apps/weather/build_graph_image",
                                params={"node": "weather/helper"})).json()
        assert ["weather/helper"] == list(sub)
        assert "get_weather" not in sub["weather/helper"]["dotSrc"]
        assert 404 == (await client.get("/dev/apps/weather/build_graph_image",
                                        params={"node": "nobody"})).status_code
        assert (await client.get("/dev/apps/weather/graph")).json()["dotSrc"].startswith(
            "digraph")

        await client.post("/apps/weather/users/u/sessions", json={"sessionId": "s1"})
        await client.post("/run", json={"appName": "weather", "userId": "u",
                                        "sessionId": "s1",
                                        "newMessage": user_message("weather?")})
        session = (await client.get("/apps/weather/users/u/sessions/s1")).json()
        call = next(e for e in session["events"] if "functionCall" in e["content"]["parts"][0])
        graph = (await client.get(
            f"/dev/apps/weather/users/u/sessions/s1/events/{call['id']}/graph")).json()
        assert "penwidth=2" in graph["dotSrc"]  # the weather -> get_weather edge is lit
        assert {} == (await client.get(
            "/dev/apps/weather/users/u/sessions/s1/events/nope/graph")).json()


async def test_not_offered_features_answer_501_naming_them(ui_dir: pathlib.Path) -> None:
    """Every dev route of ADK 2.13 trio-adk does not serve answers 501 with a JSON body
    that names the feature."""
    async with web(ui_dir) as served, served.client() as client:
        count = 0
        for feature, detail, routes in NOT_OFFERED:
            for method, template in routes:
                path = template.format(app_name="weather", eval_set_id="set1",
                                       eval_case_id="case1", eval_result_id="r1",
                                       test_name="t1")
                response = await client.request(method, path)
                assert 501 == response.status_code, (method, path)
                assert {"detail": detail, "feature": feature} == response.json()
                count += 1
        assert 33 == count


async def test_traces_after_a_run_map_to_its_events(ui_dir: pathlib.Path,
                                                    private_tracing: Any) -> None:
    """With spans collected, each model or tool event's trace is the span that produced
    it (ADK's body: the span's attributes plus trace_id and span_id), and the session's
    trace lists the run's spans in the shape the UI validates."""
    ring = SpanRing(1000)
    with collect_spans(ring, provider=private_tracing) as collecting:
        assert collecting
        async with web(ui_dir, ring) as served, served.client() as client:
            await client.post("/apps/weather/users/u/sessions", json={"sessionId": "s1"})
            streamed = await client.post("/run_sse", json={
                "appName": "weather", "userId": "u", "sessionId": "s1",
                "newMessage": user_message("weather?")})
            frames = sse_events(streamed.text)
            assert "It is sunny in Oslo." == frames[-1]["content"]["parts"][0]["text"]
            session = (await client.get("/apps/weather/users/u/sessions/s1")).json()
            produced = [e for e in session["events"] if e["author"] != "user"]
            assert 3 == len(produced)  # call, response, answer
            names = []
            for event in produced:
                found = await client.get(f"/dev/apps/weather/debug/trace/{event['id']}")
                assert 200 == found.status_code, event
                trace = found.json()
                assert event["id"] == trace["gcp.vertex.agent.event_id"]
                assert isinstance(trace["trace_id"], int)
                assert isinstance(trace["span_id"], int)
                names.append(trace["gen_ai.operation.name"])
            assert ["generate_content", "execute_tool", "generate_content"] == names
            user_event = session["events"][0]["id"]
            assert (404, {"detail": "Trace not found"}) == (
                (r := await client.get(f"/dev/apps/weather/debug/trace/{user_event}"))
                .status_code, r.json())

            spans = (await client.get("/dev/apps/weather/debug/trace/session/s1")).json()
            by_name = {span["name"]: span for span in spans}
            assert {"invoke_workflow weather", "invoke_agent weather",
                    "execute_tool get_weather"} <= set(by_name)
            assert 2 == sum(name.startswith("generate_content") for name in
                            (span["name"] for span in spans))
            for span in spans:
                assert {"name", "start_time", "end_time", "trace_id", "span_id",
                        "parent_span_id", "attributes", "logs"} == set(span)
                assert [] == span["logs"]
            assert 1 == len({span["trace_id"] for span in spans})
            agent = by_name["invoke_agent weather"]
            assert "s1" == agent["attributes"]["gen_ai.conversation.id"]
            assert by_name["invoke_workflow weather"]["span_id"] == agent["parent_span_id"]
            assert [] == (await client.get("/dev/apps/weather/debug/trace/session/x")).json()


async def test_without_collection_the_trace_view_is_empty(ui_dir: pathlib.Path) -> None:
    async with web(ui_dir) as served, served.client() as client:
        assert [] == (await client.get("/dev/apps/weather/debug/trace/session/s1")).json()
        assert 404 == (await client.get("/dev/apps/weather/debug/trace/e1")).status_code


def test_span_ring_is_bounded() -> None:
    """The buffer keeps the newest spans only; collection stops when the block ends."""
    sdk = pytest.importorskip("opentelemetry.sdk.trace")
    ring = SpanRing(3)
    provider = sdk.TracerProvider()
    tracer = provider.get_tracer("test")
    spans = []
    for index in range(5):
        span = tracer.start_span(f"span {index}")
        span.end()
        spans.append(span)
        ring.add(span)
    assert 3 == len(ring)
    assert "<SpanRing 3/3 spans>" == repr(ring)
    with pytest.raises(ValueError, match="at least 1"):
        SpanRing(0)


def test_find_dev_ui(ui_dir: pathlib.Path, tmp_path: pathlib.Path,
                     monkeypatch: pytest.MonkeyPatch) -> None:
    """--ui_dir wins; a folder without index.html, an interpreter without google-adk, or
    nothing at all fail with one line saying how to get the UI."""
    assert ui_dir == find_dev_ui(ui_dir).path
    with pytest.raises(DevUiNotFoundError, match=r"has no index\.html"):
        find_dev_ui(tmp_path)
    monkeypatch.delenv("TRIO_ADK_GOOGLE_ADK_PYTHON", raising=False)
    try:
        from importlib import metadata

        metadata.distribution("google-adk")
    except metadata.PackageNotFoundError:
        with pytest.raises(DevUiNotFoundError, match=r"pip install 'trio-adk\[web\]'") as info:
            find_dev_ui()
        assert "\n" not in str(info.value)
        with pytest.raises(DevUiNotFoundError, match="has no google-adk"):
            find_dev_ui(adk_python=sys.executable)


@pytest.mark.skipif(not os.environ.get("TRIO_ADK_GOOGLE_ADK_PYTHON"),
                    reason="TRIO_ADK_GOOGLE_ADK_PYTHON (an interpreter with google-adk 2.13) "
                           "is not set")
def test_find_dev_ui_asks_another_interpreter() -> None:
    bundle = find_dev_ui(adk_python=os.environ["TRIO_ADK_GOOGLE_ADK_PYTHON"])
    assert (bundle.path / "index.html").is_file()
    assert bundle.version is not None and bundle.version.startswith("2.13.")


def test_without_the_sdk_collection_is_off_and_says_how_to_enable_it(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.trace", None)  # import fails
    with caplog.at_level("INFO", logger="trio_adk.server"), \
            collect_spans(SpanRing()) as collecting:
        assert not collecting
    assert ["The dev UI's trace view stays empty: install the OpenTelemetry SDK to fill it "
            "(pip install 'trio-adk[otel]')."] == [r.getMessage() for r in caplog.records]
