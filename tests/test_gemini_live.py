"""Gemini.connect(): the Live API over trio-websocket, against FakeGeminiServer on loopback."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from typing import Any

import pytest
import trio
from google.genai import errors as genai_errors
from google.genai import types

from helpers import self_signed
from trio_adk.errors import ModelConnectionError, ModelResponseError
from trio_adk.models._gemini import Gemini
from trio_adk.models._gemini_live import (
    TOOL_CALL_CANCELLATION,
    GeminiLiveOptions,
    GeminiLlmConnection,
    LiveConnectionClosedError,
    LiveResponseMapper,
    LiveTimeoutError,
    live_url,
    tool_calls_at_once,
)
from trio_adk.models._llm_request import LlmRequest
from trio_adk.models._llm_response import LlmResponse
from trio_adk.testing import FakeGeminiServer, LiveScript
from trio_adk.testing import live_script as ls

LIVE_MODEL = "gemini-2.0-flash-live-001"
PCM = "audio/pcm;rate=16000"


def gemini(server: FakeGeminiServer, model: str = LIVE_MODEL) -> Gemini:
    return Gemini(model=model, base_url=server.base_url, api_key="test-key")


def user(text: str) -> types.Content:
    return types.Content(role="user", parts=[types.Part(text=text)])


def request(**live: Any) -> LlmRequest:
    return LlmRequest(live_connect_config=types.LiveConnectConfig(**live) if live else None)


@asynccontextmanager
async def connect(server: FakeGeminiServer, *, model: str = LIVE_MODEL,
                  llm_request: LlmRequest | None = None,
                  options: GeminiLiveOptions | None = None
                  ) -> AsyncIterator[GeminiLlmConnection]:
    async with gemini(server, model).connect(llm_request or request(), options=options) as conn:
        yield conn


async def until_turn_complete(conn: GeminiLlmConnection) -> list[LlmResponse]:
    """Responses up to and including the next turn_complete."""
    seen: list[LlmResponse] = []
    with trio.fail_after(10):
        async with aclosing(conn.receive()) as responses:
            async for response in responses:
                seen.append(response)
                if response.turn_complete:
                    break
    return seen


async def all_responses(conn: GeminiLlmConnection) -> list[LlmResponse]:
    """Responses until the connection closes."""
    with trio.fail_after(10):
        async with aclosing(conn.receive()) as responses:
            return [response async for response in responses]


def texts(responses: list[LlmResponse]) -> list[tuple[str, bool | None]]:
    return [(p.text, r.partial) for r in responses if r.content and r.content.parts
            for p in r.content.parts if p.text]


def conversation(*turns: ls.LiveTurn, **options: Any) -> LiveScript:
    return LiveScript(handler=ls.LiveConversation(*turns, **options))


# -- URL, setup -------------------------------------------------------------------------------


def test_live_url_derivation(monkeypatch: pytest.MonkeyPatch) -> None:
    """http → ws, https → wss, a base path is kept, v1alpha by default, env/option override."""
    path = "/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContent"
    assert "wss://generativelanguage.googleapis.com" + path == live_url(
        "https://generativelanguage.googleapis.com/")
    assert "ws://127.0.0.1:8765" + path == live_url("http://127.0.0.1:8765")
    assert "wss://proxy.example/gemini" + path == live_url("https://proxy.example/gemini/")
    assert "ws://h" + path.replace("v1alpha", "v1beta") == live_url("ws://h", "v1beta")
    assert live_url("https://h", ephemeral=True).endswith("BidiGenerateContentConstrained")
    with pytest.raises(ValueError, match="ftp"):
        live_url("ftp://h")
    assert "v1alpha" == GeminiLiveOptions().resolved_api_version()
    monkeypatch.setenv("GOOGLE_GEMINI_LIVE_API_VERSION", "v1beta")
    assert "v1beta" == GeminiLiveOptions().resolved_api_version()
    assert "v1" == GeminiLiveOptions(api_version="v1").resolved_api_version()


async def test_connect_sends_key_header_and_full_setup() -> None:
    """The handshake carries x-goog-api-key on the v1alpha path; setup holds the model, the
    generation config (live settings over request settings), a system-role instruction, tools
    and every live option in camelCase."""
    def get_weather(city: str) -> str:
        """Weather for a city."""
        return city

    llm_request = request(
        response_modalities=[types.Modality.AUDIO],
        speech_config=types.SpeechConfig(voice_config=types.VoiceConfig(
            prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name="Kore"))),
        temperature=0.5,
        enable_affective_dialog=True,
        realtime_input_config=types.RealtimeInputConfig(
            automatic_activity_detection=types.AutomaticActivityDetection(disabled=True),
            activity_handling=types.ActivityHandling.START_OF_ACTIVITY_INTERRUPTS),
        session_resumption=types.SessionResumptionConfig(handle="h-1"),
        context_window_compression=types.ContextWindowCompressionConfig(
            trigger_tokens=1000, sliding_window=types.SlidingWindow(target_tokens=500)),
        input_audio_transcription=types.AudioTranscriptionConfig(),
        output_audio_transcription=types.AudioTranscriptionConfig(),
        proactivity=types.ProactivityConfig(proactive_audio=True),
    )
    llm_request.config.temperature = 0.9
    llm_request.config.top_k = 3
    llm_request.config.thinking_config = types.ThinkingConfig(thinking_budget=0)
    llm_request.config.tools = [get_weather]
    llm_request.append_instructions(["Be brief."])
    async with FakeGeminiServer() as server, connect(server, llm_request=llm_request) as conn:
        assert conn.setup_complete is not None
    record = server.requests[0]
    assert ("live", "v1alpha", "test-key", "header") == (
        record.kind, record.api_version, record.api_key, record.api_key_source)
    assert {
        "model": "models/gemini-2.0-flash-live-001",
        "generationConfig": {
            "responseModalities": ["AUDIO"], "temperature": 0.5, "topK": 3,
            "thinkingConfig": {"thinkingBudget": 0}, "enableAffectiveDialog": True,
            "speechConfig": {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Kore"}}}},
        "systemInstruction": {"role": "system", "parts": [{"text": "Be brief."}]},
        "tools": [{"functionDeclarations": [{
            "name": "get_weather", "description": "Weather for a city.",
            "parametersJsonSchema": {"properties": {"city": {"type": "string"}},
                                     "required": ["city"], "type": "object"},
            "responseJsonSchema": {"type": "string"}}]}],
        "realtimeInputConfig": {"automaticActivityDetection": {"disabled": True},
                                "activityHandling": "START_OF_ACTIVITY_INTERRUPTS"},
        "sessionResumption": {"handle": "h-1"},
        "contextWindowCompression": {"triggerTokens": 1000,
                                     "slidingWindow": {"targetTokens": 500}},
        "inputAudioTranscription": {},
        "outputAudioTranscription": {},
        "proactivity": {"proactiveAudio": True},
    } == record.body["setup"]


async def test_setup_refuses_what_the_gemini_api_cannot_do() -> None:
    """Transparent resumption (Vertex only) and http_options are refused before connecting."""
    model = Gemini(model=LIVE_MODEL, base_url="http://127.0.0.1:9", api_key="k")
    for live in (types.LiveConnectConfig(
                     session_resumption=types.SessionResumptionConfig(transparent=True)),
                 types.LiveConnectConfig(http_options=types.HttpOptions(timeout=1))):
        with pytest.raises(ValueError, match=r"transparent|http_options"):
            async with model.connect(LlmRequest(live_connect_config=live)):
                pass


async def test_setup_complete_is_required() -> None:
    """A first message other than setupComplete is an error; the client still closes 1001."""
    script = LiveScript(setup_reply={"serverContent": {"turnComplete": True}})
    async with FakeGeminiServer(live=script) as server:
        with pytest.raises(ModelResponseError, match="serverContent instead of setupComplete"):
            async with connect(server):
                pytest.fail("the body must not run")
    assert 1001 == server.live_sessions[0].close_code


async def test_close_during_setup_carries_code_and_reason() -> None:
    """The server's refusal (close frame during setup) surfaces with its code and reason."""
    script = LiveScript(close_code=1008, close_reason="models/nope is not found")
    async with FakeGeminiServer(live=script) as server:
        with pytest.raises(LiveConnectionClosedError, match="not found") as caught:
            async with connect(server):
                pass
        assert (1008, "models/nope is not found") == (caught.value.code, caught.value.reason)
        assert isinstance(caught.value, ModelConnectionError)
    async with FakeGeminiServer(require_api_key="other") as server:
        with pytest.raises(LiveConnectionClosedError) as caught:
            async with connect(server):
                pass
    assert 1008 == caught.value.code
    assert "API key not valid" in (caught.value.reason or "")


async def test_server_that_never_answers_setup_is_bounded(autojump_clock: trio.abc.Clock) -> None:
    """No setupComplete: LiveTimeoutError (a TimeoutError and a ModelConnectionError) after
    setup_timeout, and the server still sees a polite 1001."""
    async with FakeGeminiServer(live=LiveScript(answer_setup=False)) as server:
        start = trio.current_time()
        with pytest.raises(LiveTimeoutError, match="did not answer the setup") as caught:
            async with connect(server, options=GeminiLiveOptions(setup_timeout=5)):
                pass
        assert 5 <= trio.current_time() - start < 6
        assert isinstance(caught.value, TimeoutError)
        assert isinstance(caught.value, ModelConnectionError)
        with trio.fail_after(1):
            while server.live_sessions[0].close_code is None:
                await trio.sleep(0.01)
    assert 1001 == server.live_sessions[0].close_code


async def test_refused_upgrade_and_unreachable_endpoint() -> None:
    """An HTTP error instead of the upgrade is a google-genai ClientError; a closed port, or a
    server that hangs up during the handshake, is a ModelConnectionError (no waiting)."""
    async with FakeGeminiServer() as server:
        with pytest.raises(genai_errors.ClientError) as caught:
            async with connect(server, options=GeminiLiveOptions(api_version="v9")):
                pass
    assert 404 == caught.value.code
    port = server.port  # closed now
    model = Gemini(model=LIVE_MODEL, base_url=f"http://127.0.0.1:{port}", api_key="k")
    with pytest.raises(ModelConnectionError, match="Could not connect"):
        async with model.connect(LlmRequest()):
            pass

    async def hang_up(stream: trio.SocketStream) -> None:
        await stream.aclose()

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(trio.serve_tcp, hang_up, 0)
        port = listeners[0].socket.getsockname()[1]
        model = Gemini(model=LIVE_MODEL, base_url=f"http://127.0.0.1:{port}", api_key="k")
        with trio.fail_after(5), pytest.raises(ModelConnectionError, match="handshake"):
            async with model.connect(LlmRequest()):
                pass
        nursery.cancel_scope.cancel()


async def _say_nothing(stream: trio.SocketStream) -> None:
    """A server that accepts TCP and never says anything."""
    async with stream:
        await trio.sleep_forever()


async def test_silent_server_bounds_the_handshake() -> None:
    """A server that accepts TCP and never answers the upgrade: LiveTimeoutError at
    connect_timeout."""
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(trio.serve_tcp, _say_nothing, 0)
        port = listeners[0].socket.getsockname()[1]
        model = Gemini(model=LIVE_MODEL, base_url=f"http://127.0.0.1:{port}", api_key="k")
        with trio.fail_after(5), pytest.raises(LiveTimeoutError, match="handshake"):
            async with model.connect(LlmRequest(),
                                     options=GeminiLiveOptions(connect_timeout=0.2)):
                pass
        nursery.cancel_scope.cancel()


class _CancelWhenSpawned(trio.abc.Instrument):
    """Cancels ``scope`` the moment a task whose name ends with ``suffix`` is spawned."""

    def __init__(self, suffix: str, scope: trio.CancelScope) -> None:
        self.suffix, self.scope = suffix, scope

    def task_spawned(self, task: trio.lowlevel.Task) -> None:
        if task.name.endswith(self.suffix):
            self.scope.cancel()


async def test_cancelled_while_the_reader_host_starts_does_not_hang() -> None:
    """A cancellation landing while the connection starts its (shielded) reader host
    ends the connect promptly with Cancelled; it used to hang forever (the host entered
    its shielded scope before it could see the cancellation)."""
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(trio.serve_tcp, _say_nothing, 0)
        port = listeners[0].socket.getsockname()[1]
        model = Gemini(model=LIVE_MODEL, base_url=f"http://127.0.0.1:{port}", api_key="k")
        with trio.fail_after(5):  # the hang: fail instead of blocking the suite
            with trio.CancelScope() as scope:
                instrument = _CancelWhenSpawned("_host_reader", scope)
                trio.lowlevel.add_instrument(instrument)
                try:
                    async with model.connect(LlmRequest()):
                        pass  # pragma: no cover
                finally:
                    trio.lowlevel.remove_instrument(instrument)
            assert scope.cancelled_caught
        nursery.cancel_scope.cancel()


async def test_wss_with_tls() -> None:
    """An https base URL becomes wss; the options' ssl_context verifies the server."""
    server_context, client_context = self_signed()
    async with FakeGeminiServer(ssl_context=server_context) as server:
        options = GeminiLiveOptions(ssl_context=client_context)
        async with connect(server, options=options) as conn:
            assert conn.url.startswith("wss://127.0.0.1:")
            await conn.send_content(user("secret"))
            assert ("You said: secret", False) == texts(await until_turn_complete(conn))[-1]
    assert 1000 == server.live_sessions[0].close_code


# -- receiving --------------------------------------------------------------------------------


async def test_text_turn_partials_aggregate_and_turn_complete() -> None:
    """Text streams as partial chunks; usage, one aggregated text and turn_complete follow."""
    script = conversation(ls.on_turn(ls.say("Hello there, how are you today?", chunks=3)))
    async with FakeGeminiServer(live=script) as server, connect(server) as conn:
        await conn.send_content(user("hi"))
        responses = await until_turn_complete(conn)
    assert [("Hello there, ", True), ("how are ", True), ("you today?", True),
            ("Hello there, how are you today?", False)] == texts(responses)
    assert responses[3].usage_metadata is not None
    assert 6 == responses[3].usage_metadata.candidates_token_count
    assert responses[-1].turn_complete
    assert 6 == len(responses)
    assert {"clientContent": {"turns": [{"role": "user", "parts": [{"text": "hi"}]}],
                              "turnComplete": True}} == server.live_messages[1].message


async def test_audio_echo_and_transcriptions() -> None:
    """Audio chunks come back as they are sent; the input transcription (partial words, then the
    finished whole) and the output transcription (likewise) precede turn_complete."""
    chunks = [bytes([i]) * 640 for i in range(3)]
    script = conversation(transcripts=["hello model"])
    async with FakeGeminiServer(live=script) as server, connect(server) as conn:
        for chunk in chunks:
            await conn.send_realtime(types.Blob(data=chunk, mime_type=PCM))
        await conn.send_realtime(types.LiveClientRealtimeInput(audio_stream_end=True))
        responses = await until_turn_complete(conn)
    audio = [p.inline_data for r in responses if r.content and r.content.parts
             for p in r.content.parts if p.inline_data]
    assert chunks == [blob.data for blob in audio]
    assert {PCM} == {blob.mime_type for blob in audio}
    heard = [(r.input_transcription.text, r.input_transcription.finished, r.partial)
             for r in responses if r.input_transcription]
    assert [("hello ", False, True), ("model", False, True), ("hello model", True, False)] == heard
    said = [(r.output_transcription.text, r.output_transcription.finished, r.partial)
            for r in responses if r.output_transcription]
    assert [("hello ", False, True), ("model", False, True), ("hello model", True, False)] == said
    assert responses[-1].turn_complete
    sent = server.live_messages[1].message["realtimeInput"]["audio"]
    assert {"data": base64.b64encode(chunks[0]).decode(), "mimeType": PCM} == sent
    assert {"realtimeInput": {"audioStreamEnd": True}} == server.live_messages[4].message


@pytest.mark.parametrize(("model", "at_once"), [(LIVE_MODEL, False),
                                                ("gemini-3.1-flash-live-preview", True)])
async def test_tool_call_round_trip(model: str, at_once: bool) -> None:
    """A toolCall becomes one function-call response (2.x: at turnComplete; 3.x: at once);
    the function response goes back as toolResponse with the call id, and the script's answer
    uses it."""
    talk = ls.LiveConversation(ls.on_turn(
        ls.call_tool("get_weather", {"city": "Paris"}, expect={"weather": "sunny"},
                     turn_complete=not at_once),
        ls.say(lambda ctx: f"It is {ctx.tool_response['weather']}.", chunks=1)))
    async with FakeGeminiServer(live=LiveScript(handler=talk)) as server, \
            connect(server, model=model) as conn:
        await conn.send_content(user("weather in Paris?"))
        calls: list[types.FunctionCall] = []
        first: list[LlmResponse] = []
        with trio.fail_after(10):
            async with aclosing(conn.receive()) as responses:
                async for response in responses:
                    first.append(response)
                    parts = response.content.parts if response.content else None
                    if parts and parts[0].function_call:
                        calls = [p.function_call for p in parts if p.function_call]
                        break
        assert [("fc-1", "get_weather", {"city": "Paris"})] == [
            (c.id, c.name, c.args) for c in calls]
        if not at_once:
            assert (await until_turn_complete(conn))[-1].turn_complete
        await conn.send_content(types.Content(role="user", parts=[types.Part(
            function_response=types.FunctionResponse(id="fc-1", name="get_weather",
                                                     response={"weather": "sunny"}))]))
        reply = await until_turn_complete(conn)
    assert ("It is sunny.", False) == texts(reply)[-1]
    assert [] == talk.failures
    assert [{"id": "fc-1", "name": "get_weather", "response": {"weather": "sunny"}}] == \
        talk.tool_responses
    assert tool_calls_at_once(model) is at_once


async def test_wrong_tool_answer_is_reported_and_cancellation_surfaces() -> None:
    """A tool answer that differs from ``expect`` is recorded as a failure; a
    toolCallCancellation reaches the caller as custom_metadata with the ids."""
    talk = ls.LiveConversation(
        ls.on_turn(ls.call_tool("slow", {}, id="fc-9", wait=False),
                   ls.cancel_tool_calls("fc-9")),
        ls.on_turn(ls.call_tool("f", {}, expect={"ok": True}), ls.say("done")))
    async with FakeGeminiServer(live=LiveScript(handler=talk)) as server, \
            connect(server) as conn:
        await conn.send_content(user("start slow"))
        responses = await until_turn_complete(conn)
        with trio.fail_after(10):
            async with aclosing(conn.receive()) as rest:
                cancellation = await anext(rest)
        await conn.send_content(user("now f"))
        await until_turn_complete(conn)
        await conn.send_content(types.Content(role="user", parts=[types.Part(
            function_response=types.FunctionResponse(id="fc-1", name="f",
                                                     response={"ok": False}))]))
        await until_turn_complete(conn)
    assert "slow" == responses[0].content.parts[0].function_call.name  # type: ignore[union-attr,index]
    assert {TOOL_CALL_CANCELLATION: ["fc-9"]} == cancellation.custom_metadata
    assert ["tool f (fc-1): expected {'ok': True}, got {'ok': False}"] == talk.failures


async def test_barge_in_interrupts_the_reply(autojump_clock: trio.abc.Clock) -> None:
    """activityStart in the middle of a spoken reply cuts it: interrupted, then turn_complete."""
    talk = ls.LiveConversation(ls.on_turn(ls.speak("one two three four five six", chunks=6,
                                                   delay=1.0)))
    async with FakeGeminiServer(live=LiveScript(handler=talk)) as server, \
            connect(server) as conn:
        await conn.send_content(user("count"))
        seen: list[LlmResponse] = []
        async with aclosing(conn.receive()) as responses:
            async for response in responses:
                seen.append(response)
                if response.output_transcription is not None:
                    await conn.send_realtime(types.ActivityStart())
                    break
        seen += await until_turn_complete(conn)
    audio = [r for r in seen if r.content and r.content.parts and r.content.parts[0].inline_data]
    assert 1 == len(audio)
    assert any(r.interrupted and not r.turn_complete for r in seen)
    assert seen[-1].turn_complete
    finished = [r.output_transcription for r in seen
                if r.output_transcription and r.output_transcription.finished]
    assert ["one "] == [t.text for t in finished]
    assert 1 == talk.interruptions
    assert {"realtimeInput": {"activityStart": {}}} == server.live_messages[-1].message


async def test_go_away_resumption_update_and_resuming() -> None:
    """goAway and sessionResumptionUpdate are surfaced; a new session with the handle resumes
    the script where it was; an unknown handle is refused with 1007."""
    talk = ls.LiveConversation(ls.on_turn(ls.say("first", chunks=1), ls.go_away("5s")),
                               ls.on_turn(ls.say("second", chunks=1)))
    resumable = request(session_resumption=types.SessionResumptionConfig())
    async with FakeGeminiServer(live=LiveScript(handler=talk)) as server:
        async with connect(server, llm_request=resumable) as conn:
            await conn.send_content(user("one"))
            assert ("first", False) == texts(await until_turn_complete(conn))[-1]
            with trio.fail_after(10):
                async with aclosing(conn.receive()) as rest:
                    leaving = await anext(rest)
                    update = await anext(rest)
        assert leaving.go_away is not None
        assert "5s" == leaving.go_away.time_left
        assert update.live_session_resumption_update is not None
        handle = update.live_session_resumption_update.new_handle
        assert "fake-handle-1" == handle
        assert update.live_session_resumption_update.resumable

        resumed = request(session_resumption=types.SessionResumptionConfig(handle=handle))
        async with connect(server, llm_request=resumed) as conn:
            await conn.send_content(user("two"))
            assert ("second", False) == texts(await until_turn_complete(conn))[-1]
        assert [handle] == talk.resumed

        unknown = request(session_resumption=types.SessionResumptionConfig(handle="nope"))
        with pytest.raises(LiveConnectionClosedError) as caught:
            async with connect(server, llm_request=unknown):
                pass
    assert 1007 == caught.value.code


@pytest.mark.parametrize(("action", "code", "message"), [
    (ls.close(1011, "Internal error encountered."), "1011", "Internal error encountered."),
    (ls.drop(), "1006", "dropped without a close frame"),
    (ls.close(4000), "4000", "closed"),
])
async def test_server_close_becomes_an_error_response(action: ls.LiveAction, code: str,
                                                      message: str) -> None:
    """A close other than 1000 (or a dropped TCP connection) yields one error response after
    what was already sent, then receive() ends; sending then raises LiveConnectionClosedError."""
    script = conversation(ls.on_turn(ls.say("partial", turn_complete=False), action))
    async with FakeGeminiServer(live=script) as server, connect(server) as conn:
        await conn.send_content(user("go"))
        responses = await all_responses(conn)
        assert [] == await all_responses(conn)
        with pytest.raises(LiveConnectionClosedError):
            await conn.send_content(user("anyone?"))
    assert ("partial", True) == texts(responses)[0]
    assert code == responses[-1].error_code
    assert message in (responses[-1].error_message or "")
    assert int(code) == conn.close_code


async def test_server_close_1000_just_ends_receive() -> None:
    script = conversation(ls.on_turn(ls.say("bye", chunks=1), ls.close(1000)))
    async with FakeGeminiServer(live=script) as server, connect(server) as conn:
        await conn.send_content(user("go"))
        responses = await all_responses(conn)
    assert not any(r.error_code for r in responses)
    assert responses[-1].turn_complete


async def test_binary_and_text_frames_and_unknown_fields() -> None:
    """Text frames and production's binary frames are both read; unknown fields anywhere in a
    server message, and unknown messages, are ignored."""
    script = conversation(ls.on_turn(
        ls.send({"serverContent": {"modelTurn": {"role": "model", "parts": [
            {"text": "as text frame", "futurePartField": {"x": 1}}]}}}, binary=False),
        ls.send({"serverContent": {"turnComplete": True, "futureFlag": True},
                 "usageMetadata": {"totalTokenCount": 3, "futureCount": 1},
                 "brandNewMessage": {"a": 1}}),
        ls.send({"somethingElse": {}})))
    async with FakeGeminiServer(live=script) as server, connect(server) as conn:
        await conn.send_content(user("go"))
        responses = await until_turn_complete(conn)
    assert [("as text frame", True), ("as text frame", False)] == texts(responses)
    assert 3 == responses[1].usage_metadata.total_token_count  # type: ignore[union-attr]


async def test_non_json_server_message_is_an_error() -> None:
    async def handler(session: Any) -> None:
        await session._ws.send_message("not json")
        await trio.sleep_forever()

    async with FakeGeminiServer(live=LiveScript(handler=handler)) as server, \
            connect(server) as conn:
        with pytest.raises(ModelResponseError, match="not JSON"):
            await all_responses(conn)


# -- sending ----------------------------------------------------------------------------------


async def test_send_history_content_and_realtime_wire_shapes() -> None:
    """History is one clientContent (audio dropped; turnComplete when the user spoke last);
    content is clientContent with turnComplete; realtime inputs go where the API wants them."""
    audio = types.Part(inline_data=types.Blob(data=b"\x01\x02", mime_type=PCM))
    script = conversation(fallback="ignore", echo_audio=False)
    async with FakeGeminiServer(live=script) as server, connect(server) as conn:
        await conn.send_history([user("a"), types.Content(role="model", parts=[
            types.Part(text="b"), audio]), types.Content(role="user", parts=[audio])])
        await conn.send_history([])
        await conn.send_history([user("c")])
        await conn.send_realtime(types.Blob(data=b"\xff", mime_type="image/jpeg"))
        await conn.send_realtime(types.ActivityStart())
        await conn.send_realtime(types.ActivityEnd())
        await conn.send_realtime(types.LiveClientRealtimeInput(text="typed"))
        with pytest.raises(ValueError, match="audio"):
            await conn.send_realtime(types.Blob(data=b"x", mime_type="text/plain"))
        with pytest.raises(TypeError):
            await conn.send_realtime("hello")
        await conn.close()
        await conn.close()
    messages = [m.message for m in server.live_messages[1:]]
    assert [
        {"clientContent": {"turns": [{"role": "user", "parts": [{"text": "a"}]},
                                     {"role": "model", "parts": [{"text": "b"}]}],
                           "turnComplete": False}},
        {"clientContent": {"turns": [{"role": "user", "parts": [{"text": "c"}]}],
                           "turnComplete": True}},
        {"realtimeInput": {"video": {"data": "/w==", "mimeType": "image/jpeg"}}},
        {"realtimeInput": {"activityStart": {}}},
        {"realtimeInput": {"activityEnd": {}}},
        {"realtimeInput": {"text": "typed"}},
    ] == messages
    assert all(not m.binary for m in server.live_messages)
    json.loads(server.live_messages[1].raw)


# -- closing ----------------------------------------------------------------------------------


async def test_client_close_and_normal_exit_send_1000() -> None:
    """close() and leaving the block normally both close with 1000; receive() then ends."""
    async with FakeGeminiServer() as server:
        async with connect(server) as conn:
            await conn.close()
            assert [] == await all_responses(conn)
            assert 1000 == conn.close_code
        async with connect(server) as conn:
            pass
    assert [1000, 1000] == [s.close_code for s in server.live_sessions]


async def test_cancellation_closes_with_1001_and_leaks_nothing() -> None:
    """Cancelling the ``async with`` (here while receive() waits, and mid-stream) closes with
    1001 promptly; the conftest checks that no socket or task is left."""
    script = conversation(ls.on_turn(ls.speak("a b c d e f g h", chunks=8, delay=0.01)))
    options = GeminiLiveOptions(close_timeout=5)
    async with FakeGeminiServer(live=script) as server:
        with trio.move_on_after(0.2) as waited:
            async with connect(server, options=options) as conn:
                await all_responses(conn)
        assert waited.cancelled_caught
        assert trio.current_time() - waited.deadline < 1  # the close did not wait it out
        with trio.CancelScope() as scope:
            async with connect(server, options=options) as conn:
                await conn.send_content(user("talk"))
                async with aclosing(conn.receive()) as responses:
                    async for _ in responses:
                        scope.cancel()
                        cancelled_at = trio.current_time()
        assert trio.current_time() - cancelled_at < 1
        with trio.fail_after(1):
            while any(s.close_code is None for s in server.live_sessions):
                await trio.sleep(0.01)
    assert [1001, 1001] == [s.close_code for s in server.live_sessions]


async def test_error_in_body_closes_with_1001_and_propagates_unwrapped() -> None:
    async with FakeGeminiServer() as server:
        with pytest.raises(KeyError):
            async with connect(server):
                raise KeyError("mine")
    assert 1001 == server.live_sessions[0].close_code


async def test_receive_resumes_where_a_consumer_left() -> None:
    """Responses not yet taken when the consumer left are yielded by the next receive()."""
    script = conversation(ls.on_turn(ls.say("a b c", chunks=3)))
    async with FakeGeminiServer(live=script) as server, connect(server) as conn:
        await conn.send_content(user("go"))
        got: list[LlmResponse] = []
        while not (got and got[-1].turn_complete):
            async with aclosing(conn.receive()) as responses:
                got.append(await anext(responses))
    assert [("a ", True), ("b ", True), ("c", True), ("a b c", False)] == texts(got)


# -- the mapping, without sockets -------------------------------------------------------------


def _message(data: dict[str, Any]) -> types.LiveServerMessage:
    return types.LiveServerMessage.model_validate(data)


def test_mapper_flushes_text_on_thought_flip_and_other_parts() -> None:
    mapper = LiveResponseMapper(LIVE_MODEL)
    out = mapper.map(_message({"serverContent": {"modelTurn": {"parts": [
        {"text": "hmm", "thought": True}]}}}))
    out += mapper.map(_message({"serverContent": {"modelTurn": {"parts": [{"text": "Hi"}]}}}))
    out += mapper.map(_message({"serverContent": {"modelTurn": {"parts": [
        {"executableCode": {"code": "1", "language": "PYTHON"}}]}}}))
    out += mapper.map(_message({"serverContent": {"interrupted": True}}))
    flushed = [(r.content.parts[0].text, r.content.parts[0].thought) for r in out
               if r.partial is False and r.content and r.content.parts]
    assert [("hmm", True), ("Hi", None)] == flushed
    assert out[-1].interrupted
    assert out[-1].content is None


def test_mapper_grounding_only_message_and_turn_complete_grounding() -> None:
    mapper = LiveResponseMapper(LIVE_MODEL)
    grounding = {"webSearchQueries": ["q"]}
    alone = mapper.map(_message({"serverContent": {"groundingMetadata": grounding}}))
    assert 1 == len(alone)
    assert ["q"] == alone[0].grounding_metadata.web_search_queries  # type: ignore[union-attr]
    mapper.map(_message({"serverContent": {"modelTurn": {"parts": [{"text": "x"}]},
                                           "groundingMetadata": grounding}}))
    done = mapper.map(_message({"serverContent": {"turnComplete": True}}))
    assert done[-1].turn_complete
    assert done[-1].grounding_metadata is not None


# -- the fake server's live script ------------------------------------------------------------


async def test_script_immediately_predicates_and_echo_fallback() -> None:
    """``immediately`` speaks first; ``on_message`` waits for a matching client message; turns
    nobody scripted get the echo fallback; an explicit resumption_update issues a handle."""
    talk = ls.LiveConversation(
        ls.immediately(ls.say("welcome", chunks=1)),
        ls.on_message(lambda m: "activityEnd" in m.get("realtimeInput", {}),
                      ls.say("saw the end", chunks=1), ls.resumption_update()),
        resumption_updates=False)
    async with FakeGeminiServer(live=LiveScript(handler=talk)) as server, \
            connect(server) as conn:
        assert ("welcome", False) == texts(await until_turn_complete(conn))[-1]
        await conn.send_content(user("early"))
        assert ("You said: early", False) == texts(await until_turn_complete(conn))[-1]
        await conn.send_realtime(types.ActivityEnd())
        assert ("saw the end", False) == texts(await until_turn_complete(conn))[-1]
        with trio.fail_after(10):
            async with aclosing(conn.receive()) as rest:
                update = await anext(rest)
    assert update.live_session_resumption_update is not None
    assert ["fake-handle-1"] == talk.handles


async def test_script_parallel_tool_calls() -> None:
    """``call_tools`` sends several calls in one toolCall; both answers are checked."""
    talk = ls.LiveConversation(ls.on_turn(
        ls.call_tools([("a", {}), ("b", {"n": 1})], expect=[{"r": "a"}, {"r": "b"}]),
        ls.say("both done", chunks=1)))
    async with FakeGeminiServer(live=LiveScript(handler=talk)) as server, \
            connect(server) as conn:
        await conn.send_content(user("go"))
        responses = await until_turn_complete(conn)
        parts = responses[0].content.parts if responses[0].content else None
        assert parts is not None
        calls = [p.function_call for p in parts if p.function_call]
        assert [("fc-1", "a"), ("fc-2", "b")] == [(c.id, c.name) for c in calls]
        await conn.send_content(types.Content(role="user", parts=[
            types.Part(function_response=types.FunctionResponse(
                id=c.id, name=c.name, response={"r": c.name})) for c in calls]))
        assert ("both done", False) == texts(await until_turn_complete(conn))[-1]
    assert [] == talk.failures
    assert ["fc-1", "fc-2"] == [r["id"] for r in talk.tool_responses]
    assert {"toolResponse": {"functionResponses": [
        {"id": "fc-1", "name": "a", "response": {"r": "a"}},
        {"id": "fc-2", "name": "b", "response": {"r": "b"}}]}} == \
        server.live_messages[-1].message
