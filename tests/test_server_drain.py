"""Graceful drain: new requests are refused with 503, runs in flight finish and their
clients get the whole stream; what outlasts the grace period is cancelled with its cleanup
awaited, and a live socket is closed with 1001.  Also the opt-in typed SSE frames.

No durations are asserted: each test proves the order of events (the run was still going
when the drain began, the cleanup ran before ``drain`` returned)."""

from __future__ import annotations

import json
from typing import Any

import attrs
import httpx
import trio
import wsproto
import wsproto.events as wsevents

from test_server_auth import handshake_status, live_path
from test_server_support import DictLoader, memory_services, running, sse_events, user_message
from trio_adk import Agent
from trio_adk._run import ACTIVE_RUNS
from trio_adk.models import Gemini
from trio_adk.server import ApiServer, serve
from trio_adk.testing import FakeGeminiServer, ScriptedModel, chunks, error, function_call


@attrs.define
class Gate:
    """A tool that waits until the test opens the gate (or it is cancelled)."""

    started: trio.Event = attrs.Factory(trio.Event)
    opened: trio.Event = attrs.Factory(trio.Event)
    cleaned_up: trio.Event = attrs.Factory(trio.Event)

    async def wait_for_gate(self) -> dict[str, str]:
        """Wait for the gate."""
        self.started.set()
        try:
            await self.opened.wait()
        finally:
            self.cleaned_up.set()
        return {"status": "through"}


def gated_agent(gate: Gate) -> Agent:
    return Agent(name="gated", tools=[gate.wait_for_gate], model=ScriptedModel(replies=[
        function_call("wait_for_gate"), chunks(["all ", "done"])]))


RUN = {"appName": "gated", "userId": "u", "sessionId": "s1", "newMessage": user_message("go")}


async def _first_frame(response: httpx.Response, lines: Any) -> dict[str, Any]:
    async for line in lines:
        if line.startswith("data: "):
            frame: dict[str, Any] = json.loads(line[len("data: "):])
            return frame
    raise AssertionError(f"no frame in {response!r}")


async def test_a_run_in_flight_finishes_and_new_requests_get_503() -> None:
    """The drain starts while the tool waits; new requests (HTTP, a live handshake) get
    503; the gate opens; the client receives the whole stream; then ``drain`` returns
    having cancelled nothing."""
    gate = Gate()
    reports: list[Any] = []
    async with running({"gated": gated_agent(gate)}) as served, served.client() as client:
        await client.post("/apps/gated/users/u/sessions", json={"sessionId": "s1"})
        async with trio.open_nursery() as nursery, \
                client.stream("POST", "/run_sse", json=RUN) as response:
            lines = response.aiter_lines()
            first = await _first_frame(response, lines)
            assert "wait_for_gate" == first["content"]["parts"][0]["functionCall"]["name"]
            await gate.started.wait()

            async def drain() -> None:
                reports.append(await served.server.drain(grace=600))

            nursery.start_soon(drain)
            while not served.server.draining:
                await trio.sleep(0)
            async with served.client() as fresh:
                refused = await fresh.get("/list-apps")
                assert 503 == refused.status_code
                assert {"detail": "The server is shutting down."} == refused.json()
                assert "close" == refused.headers["connection"]
                assert 503 == (await fresh.post("/run_sse", json=RUN)).status_code
                assert 503 == (await fresh.get("/health")).status_code
            assert 503 == await handshake_status(served, live_path("u"), {})
            assert not reports  # the run is still in flight: the drain waits
            gate.opened.set()
            rest = [line async for line in lines]
        text = "\n".join(rest)
        assert '"functionResponse"' in text
        frames = sse_events("".join(f"{line}\n" for line in rest).lstrip("\n"))
        assert "all done" == frames[-1]["content"]["parts"][0]["text"]
    [report] = reports
    assert (1, 0) == (report.finished, report.cancelled)
    assert not list(ACTIVE_RUNS)


async def test_a_run_that_outlasts_the_grace_is_cancelled_with_its_cleanup() -> None:
    """A tool that never ends is cancelled when the grace runs out: its cleanup has run by
    the time ``drain`` returns, and a typed stream ends with ``event: error`` Cancelled."""
    gate = Gate()
    async with running({"gated": gated_agent(gate)}) as served, served.client() as client:
        await client.post("/apps/gated/users/u/sessions", json={"sessionId": "s1"})
        async with client.stream("POST", "/run_sse?typed_events=true", json=RUN) as response:
            lines = response.aiter_lines()
            await _first_frame(response, lines)
            await gate.started.wait()
            report = await served.server.drain(grace=0.2)
            assert gate.cleaned_up.is_set()
            assert not list(ACTIVE_RUNS)
            rest = [line async for line in lines if line]
        assert ["event: error", 'data: {"type":"Cancelled","message":"The server cancelled '
                'the run (shutting down)."}'] == rest
        assert (0, 1) == (report.finished, report.cancelled)
        session = await served.server.session_service.get_session(
            app_name="gated", user_id="u", session_id="s1")
        assert ["user", "gated"] == [e.author for e in session.events]


async def test_a_run_cancelled_before_answering_gets_503() -> None:
    """A /run still running when the grace runs out is cancelled and answered 503."""
    gate = Gate()
    async with running({"gated": gated_agent(gate)}) as served, served.client() as client:
        await client.post("/apps/gated/users/u/sessions", json={"sessionId": "s1"})
        answers: list[httpx.Response] = []
        async with trio.open_nursery() as nursery:
            async def call() -> None:
                answers.append(await client.post("/run", json=RUN))

            nursery.start_soon(call)
            await gate.started.wait()
            await served.server.drain(grace=0)
            assert gate.cleaned_up.is_set()
        [answer] = answers
        assert 503 == answer.status_code
        assert {"detail": "The server is shutting down."} == answer.json()


@attrs.define
class RawLive:
    """A minimal WebSocket client on wsproto over one trio socket, closed by its owner.

    (trio-websocket's client leaves its socket open when the server ends the connection.)"""

    stream: trio.SocketStream
    ws: wsproto.WSConnection = attrs.Factory(
        lambda: wsproto.WSConnection(wsproto.ConnectionType.CLIENT))

    async def connect(self, host: str, target: str) -> None:
        await self.stream.send_all(self.ws.send(wsevents.Request(host=host, target=target)))
        event = await self.next_event()
        assert isinstance(event, wsevents.AcceptConnection), event

    async def send_text(self, text: str) -> None:
        await self.stream.send_all(self.ws.send(wsevents.TextMessage(data=text)))

    async def next_event(self) -> wsevents.Event:
        while True:
            for event in self.ws.events():
                return event
            data = await self.stream.receive_some()
            self.ws.receive_data(data or None)


async def test_a_live_socket_is_closed_with_1001() -> None:
    """A live conversation still open when the grace runs out gets close code 1001 (going
    away), after its run was cancelled and cleaned up."""
    async with FakeGeminiServer() as gemini:
        def agent() -> Agent:
            return Agent(name="echo", instruction="Echo.", model=Gemini(
                model="gemini-2.0-flash", base_url=gemini.base_url, api_key="k"))

        async with running({"echo": agent}) as served:
            await served.server.session_service.create_session(
                app_name="echo", user_id="u", session_id="s1")
            async with await trio.open_tcp_stream("127.0.0.1", served.port) as stream:
                client = RawLive(stream)
                await client.connect(f"127.0.0.1:{served.port}", live_path("u"))
                await client.send_text(json.dumps({"content": user_message("hi")}))
                while True:
                    event = await client.next_event()
                    assert isinstance(event, wsevents.TextMessage), event
                    if json.loads(event.data).get("turnComplete"):
                        break
                assert 1 == len(list(ACTIVE_RUNS))
                report = await served.server.drain(grace=0)
                assert not list(ACTIVE_RUNS)
                closed = await client.next_event()
            assert isinstance(closed, wsevents.CloseConnection), closed
            assert (1001, "The server is shutting down.") == (closed.code, closed.reason)
            assert (0, 1) == (report.finished, report.cancelled)


async def test_serve_drains_when_its_shutdown_trigger_fires() -> None:
    """``serve``'s shutdown trigger drains first: the trigger fires while a run is in
    flight, the run still finishes and its client gets the whole stream, then ``serve``
    returns."""
    gate = Gate()
    stop = trio.Event()
    served_done = trio.Event()
    async with ApiServer(agent_loader=DictLoader({"gated": gated_agent(gate)}),
                         services=memory_services(), own_services=True) as server, \
            trio.open_nursery() as nursery:
        async def serving(task_status: trio.TaskStatus[list[str]]) -> None:
            await serve(server, host="127.0.0.1", port=0, shutdown_trigger=stop.wait,
                        drain_timeout=600, task_status=task_status)
            served_done.set()

        [url] = await nursery.start(serving)
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            await client.post("/apps/gated/users/u/sessions", json={"sessionId": "s1"})
            async with client.stream("POST", "/run_sse", json=RUN) as response:
                lines = response.aiter_lines()
                await _first_frame(response, lines)
                await gate.started.wait()
                stop.set()
                while not server.draining:
                    await trio.sleep(0)
                assert not served_done.is_set()
                gate.opened.set()
                rest = [line async for line in lines if line]
        assert "all done" == json.loads(rest[-1][len("data: "):])["content"]["parts"][
            0]["text"]
    assert served_done.is_set()
    assert not list(ACTIVE_RUNS)


async def test_typed_events_end_and_error_frames() -> None:
    """``?typed_events=true``: a finished run ends with ``event: end`` (the number of
    events); a failed one with ``event: error`` instead of ADK's error data frame.  Without
    the flag the framing is ADK's: data frames only, and ADK's error frame."""
    def failing() -> Agent:
        return Agent(name="failing", model=ScriptedModel(replies=[
            error(RuntimeError("model exploded"))], repeat=True))

    def fine() -> Agent:
        return Agent(name="fine", model=ScriptedModel(replies=[chunks(["a", "b"])],
                                                      repeat=True))

    async with running({"failing": failing, "fine": fine}) as served, \
            served.client() as client:
        for app in ("failing", "fine"):
            await client.post(f"/apps/{app}/users/u/sessions", json={"sessionId": "s1"})

        def body(app: str) -> dict[str, Any]:
            return {**RUN, "appName": app, "streaming": True}

        plain = (await client.post("/run_sse", json=body("fine"))).text
        assert "event:" not in plain
        assert 3 == len(sse_events(plain))
        typed = (await client.post("/run_sse?typed_events=true", json=body("fine"))).text
        assert typed.startswith(plain.split("\n\n")[0][:20])
        assert typed.endswith('event: end\ndata: {"events":3}\n\n')
        assert 3 == typed.count("data: {\"content\"")

        adk_error = (await client.post("/run_sse", json=body("failing"))).text
        [frame] = sse_events(adk_error)
        assert "RuntimeError: model exploded" == frame["error"]
        typed_error = (await client.post("/run_sse?typed_events=true",
                                         json=body("failing"))).text
        assert typed_error.endswith(
            'event: error\ndata: {"type":"RuntimeError","message":"model exploded"}\n\n')
        assert '"error_details"' not in typed_error
