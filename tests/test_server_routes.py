"""The production routes answer as ADK 2.13's ``adk api_server`` does.

The expected status codes and bodies below were captured from google-adk 2.13's own server
(same requests, in-memory services) and written down here as fixtures.
"""

from __future__ import annotations

from typing import Any

import pytest

from test_server_support import running, sse_events, user_message
from trio_adk import Agent
from trio_adk.testing import ScriptedModel, chunks

SPECIAL = ("Access to internal special agents is disabled in API server mode and on a "
           "development server not known to be bound to a loopback address.")

# (method, path, body, status, expected body or None for "not compared")
ADK_CASES: list[tuple[str, str, Any, int, Any]] = [
    ("GET", "/health", None, 200, {"status": "ok"}),
    ("GET", "/apps/echo/users/u/sessions/nope", None, 404, {"detail": "Session not found"}),
    ("GET", "/apps/echo/users/u/sessions", None, 200, []),
    ("POST", "/apps/echo/users/u/sessions", {"sessionId": "s1", "state": {"a": 1}}, 200, None),
    ("POST", "/apps/echo/users/u/sessions", {"sessionId": "s1"}, 409,
     {"detail": "Session already exists: s1"}),
    ("POST", "/apps/echo/users/u/sessions",
     {"sessionId": "s3", "events": [{"author": "user", "actions": {"stateDelta": {"x": 1}}}]},
     400, {"detail": "Session initialization event 0 cannot include event actions."}),
    ("POST", "/apps/echo/users/u/sessions",
     {"sessionId": "s4", "events": [{"author": "model", "content": {"role": "model", "parts": [
         {"functionCall": {"name": "adk_request_credential", "args": {}}}]}}]},
     400, {"detail": "Session initialization event 0 cannot include ADK protocol function "
                     "calls."}),
    ("POST", "/apps/echo/users/u/sessions",
     {"sessionId": "s5", "events": [{"author": "model", "longRunningToolIds": ["x"]}]},
     400, {"detail": "Session initialization event 0 cannot include long-running tool IDs."}),
    ("POST", "/apps/echo/users/u/sessions", {"sessionId": "s6", "options": {"foo": 1}}, 400,
     {"detail": "Session options are not supported by the configured session service."}),
    ("POST", "/apps/echo/users/u/sessions", {"sessionId": "s7", "options": {"state": 1}}, 400,
     {"detail": "Session options cannot contain keys already bound by the endpoint: state"}),
    ("POST", "/apps/echo/users/u/sessions", {"sessionId": 5}, 422,
     {"detail": [{"type": "string_type", "loc": ["body", "sessionId"],
                  "msg": "Input should be a valid string", "input": 5}]}),
    ("POST", "/apps/echo/users/u/sessions/s8", {"k": "v"}, 200, None),
    ("POST", "/apps/echo/users/u/sessions/s8", {"k": "v"}, 409,
     {"detail": "Session already exists: s8"}),
    ("PATCH", "/apps/echo/users/u/sessions/nope", {"stateDelta": {"b": 2}}, 404,
     {"detail": "Session not found"}),
    ("PATCH", "/apps/echo/users/u/sessions/s1", {}, 422,
     {"detail": [{"type": "missing", "loc": ["body", "stateDelta"], "msg": "Field required",
                  "input": {}}]}),
    ("DELETE", "/apps/echo/users/u/sessions/s8", None, 200, None),
    ("DELETE", "/apps/echo/users/u/sessions/nonexistent", None, 200, None),
    ("GET", "/apps/echo/users/u/sessions/s1/artifacts/nope.txt", None, 404,
     {"detail": "Artifact not found"}),
    ("GET", "/apps/echo/users/u/sessions/s1/artifacts/a.txt?version=abc", None, 422,
     {"detail": [{"type": "int_parsing", "loc": ["query", "version"],
                  "msg": "Input should be a valid integer, unable to parse string as an "
                         "integer", "input": "abc"}]}),
    ("GET", "/apps/echo/users/u/sessions/s1/artifacts/a.txt/versions/x", None, 422,
     {"detail": "Invalid version ID"}),
    ("GET", "/apps/echo/users/u/sessions/s1/artifacts/a.txt/versions/x/metadata", None, 422,
     {"detail": "Invalid version ID"}),
    ("PATCH", "/apps/echo/users/u/memory", {"sessionId": "s1"}, 200, None),
    ("PATCH", "/apps/echo/users/u/memory", {"sessionId": "nope"}, 404,
     {"detail": "Session not found"}),
    ("PATCH", "/apps/echo/users/u/memory", {}, 422,
     {"detail": [{"type": "missing", "loc": ["body", "sessionId"], "msg": "Field required",
                  "input": {}}]}),
    ("GET", "/apps/__x/app-info", None, 403, {"detail": SPECIAL}),
    ("POST", "/run", {"appName": "echo", "userId": "u", "sessionId": "missing",
                      "newMessage": user_message("hello")}, 404,
     {"detail": "Session not found: missing"}),
    ("POST", "/run", {"userId": "u", "sessionId": "s1"}, 400,
     {"detail": "app_name is required when ADK_DEFAULT_APP_NAME is not set"}),
    ("POST", "/run", {"appName": "echo", "sessionId": "s1"}, 422,
     {"detail": [{"type": "missing", "loc": ["body", "userId"], "msg": "Field required",
                  "input": {"appName": "echo", "sessionId": "s1"}}]}),
    ("POST", "/run_sse", {"appName": "echo", "userId": "u", "sessionId": "missing",
                          "newMessage": user_message("hello")}, 404,
     {"detail": "Session not found: missing"}),
    ("GET", "/nowhere", None, 404, {"detail": "Not Found"}),
    ("PUT", "/health", None, 405, {"detail": "Method Not Allowed"}),
]


def echo_agent() -> Agent:
    return Agent(name="echo", description="Echoes", instruction="Echo.",
                 model=ScriptedModel(replies=[chunks(["You said: ", "hello"])], repeat=True))


async def test_status_codes_and_error_bodies_match_adk() -> None:
    """Each request gets ADK's status code and, where ADK's is fixed, ADK's exact body."""
    async with running({"echo": echo_agent}) as served, served.client() as client:
        for method, path, body, status, expected in ADK_CASES:
            response = await client.request(method, path, json=body)
            assert status == response.status_code, (method, path, response.text)
            if expected is not None:
                assert expected == response.json(), (method, path)


async def test_sessions_are_camel_case_and_patch_appends_a_user_event() -> None:
    """Sessions come back camelCase; PATCH applies the delta through a ``p-`` user event."""
    async with running({"echo": echo_agent}) as served, served.client() as client:
        created = (await client.post("/apps/echo/users/u/sessions",
                                     json={"session_id": "s1", "state": {"a": 1}})).json()
        assert {"id", "appName", "userId", "state", "events", "lastUpdateTime"} == set(created)
        patched = (await client.patch("/apps/echo/users/u/sessions/s1",
                                      json={"state_delta": {"b": 2}})).json()
        assert {"a": 1, "b": 2} == patched["state"]
        [event] = patched["events"]
        assert "user" == event["author"]
        assert event["invocationId"].startswith("p-")
        assert {"b": 2} == event["actions"]["stateDelta"]


async def test_restored_events_keep_no_internal_metadata() -> None:
    """Events given at creation are stored; ADK's internal marker never leaves the server."""
    async with running({"echo": echo_agent}) as served, served.client() as client:
        body = {"sessionId": "s2", "events": [{"author": "user", "content": user_message("hi"),
                                               "customMetadata": {"__adk_internal_x": 1}}]}
        created = (await client.post("/apps/echo/users/u/sessions", json=body)).json()
        [event] = created["events"]
        assert "customMetadata" not in event
        stored = await served.server.session_service.get_session(
            app_name="echo", user_id="u", session_id="s2")
        assert {"__adk_internal_restored_event": True} == stored.events[0].custom_metadata


async def test_run_and_run_sse() -> None:
    """/run answers the events as a JSON array; /run_sse streams one frame per event,
    partial ones included with streaming=true."""
    async with running({"echo": echo_agent}) as served, served.client() as client:
        await client.post("/apps/echo/users/u/sessions", json={"sessionId": "s1"})
        ran = await client.post("/run", json={"appName": "echo", "userId": "u",
                                              "sessionId": "s1",
                                              "newMessage": user_message("hello")})
        assert 200 == ran.status_code
        assert ["You said: hello"] == [e["content"]["parts"][0]["text"] for e in ran.json()]
        streamed = await client.post("/run_sse", json={
            "app_name": "echo", "user_id": "u", "session_id": "s1",
            "new_message": user_message("hello"), "streaming": True})
        assert "text/event-stream; charset=utf-8" == streamed.headers["content-type"]
        frames = sse_events(streamed.text)
        assert [True, True, None] == [f.get("partial") for f in frames]
        assert "You said: hello" == frames[-1]["content"]["parts"][0]["text"]


@pytest.mark.parametrize(("headers", "reason"), [
    ({"host": "evil.com"}, "host not allowed"),
    ({"origin": "http://evil.com"}, "origin not allowed"),
    ({"origin": "http://localhost:3000"}, "origin not allowed"),
])
async def test_loopback_guard_refuses_other_hosts_and_origins(headers: dict[str, str],
                                                              reason: str) -> None:
    """On a loopback bind: a foreign Host (DNS rebinding) or Origin gets ADK's plain 403."""
    async with running({"echo": echo_agent}) as served, served.client() as client:
        response = await client.get("/health", headers=headers)
        assert 403 == response.status_code
        assert f"Forbidden: {reason}" == response.text


async def test_allowed_origins_and_regex_get_cors_headers() -> None:
    """``allow_origins`` entries (literal or ``regex:``) pass and get CORS headers."""
    origins = ["http://localhost:3000", r"regex:https://.*\.example\.com"]
    async with running({"echo": echo_agent}, allow_origins=origins) as served, \
            served.client() as client:
        for origin in ("http://localhost:3000", "https://app.example.com"):
            response = await client.get("/health", headers={"origin": origin})
            assert 200 == response.status_code
            assert origin == response.headers["access-control-allow-origin"]
        assert 403 == (await client.get("/health", headers={"origin": "https://x.org"})
                       ).status_code


async def test_default_app_name_rewrites_paths() -> None:
    """With a default app, ``/users/...`` is ``/apps/<default>/users/...``."""
    async with running({"echo": echo_agent}, default_app_name="echo") as served, \
            served.client() as client:
        created = await client.post("/users/u/sessions", json={"sessionId": "s1"})
        assert "echo" == created.json()["appName"]
        ran = await client.post("/run", json={"userId": "u", "sessionId": "s1",
                                              "newMessage": user_message("hi")})
        assert 200 == ran.status_code
