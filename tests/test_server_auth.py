"""The auth seam: no auth (ADK's default), bearer tokens, a proxy's user header, and the
strict binding of the request's user to the caller, on every route family (sessions,
artifacts, /run, /run_sse, /run_live)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import trio
import trio_websocket
from google.genai import types

from test_server_support import Served, running, sse_events, user_message
from trio_adk import Agent
from trio_adk.models import Gemini
from trio_adk.server import ApiServer, BearerAuth, Caller, HeaderAuth
from trio_adk.server._auth import parse_tokens
from trio_adk.testing import FakeGeminiServer

ALICE_TOKEN = "tok-alice-0123456789"
NOBODY_TOKEN = "tok-unbound-9876543210"
TOKENS = {ALICE_TOKEN: "alice", NOBODY_TOKEN: None}
Headers = dict[str, str]


@asynccontextmanager
async def serving(**options: Any) -> AsyncIterator[Served]:
    """App ``echo`` on a fake Gemini server (text and live), with alice's session ``s1``
    holding one artifact, served with ``options``."""
    async with FakeGeminiServer() as gemini:
        def agent() -> Agent:
            return Agent(name="echo", instruction="Echo.",
                         model=Gemini(model="gemini-2.0-flash", base_url=gemini.base_url,
                                      api_key="k"))

        async with running({"echo": agent}, **options) as served:
            service = served.server.session_service
            for user in ("alice", "bob"):
                await service.create_session(app_name="echo", user_id=user, session_id="s1")
                await served.server.artifact_service.save_artifact(
                    app_name="echo", user_id=user, session_id="s1", filename="a.txt",
                    artifact=types.Part(text="hi"))
            yield served


def _run_body(user: str) -> dict[str, Any]:
    return {"appName": "echo", "userId": user, "sessionId": "s1",
            "newMessage": user_message("hello")}


async def http_families(client: httpx.AsyncClient, user: str,
                        headers: Headers) -> dict[str, httpx.Response]:
    """One request of each HTTP route family, acting as ``user``."""
    base = f"/apps/echo/users/{user}/sessions"
    return {
        "sessions": await client.get(base, headers=headers),
        "session": await client.get(base + "/s1", headers=headers),
        "artifacts": await client.get(base + "/s1/artifacts/a.txt", headers=headers),
        "memory": await client.patch(f"/apps/echo/users/{user}/memory",
                                     json={"sessionId": "s1"}, headers=headers),
        "run": await client.post("/run", json=_run_body(user), headers=headers),
        "run_sse": await client.post("/run_sse", json=_run_body(user), headers=headers),
    }


async def handshake_status(served: Served, path: str, headers: Headers) -> int:
    """The status a WebSocket handshake for ``path`` gets (101: accepted), over a raw socket
    that is closed at once (trio-websocket leaves a rejected connection's socket open)."""
    stream = await trio.open_tcp_stream("127.0.0.1", served.port)
    async with stream:
        lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{served.port}",
                 "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13",
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                 *(f"{k}: {v}" for k, v in headers.items()), "", ""]
        await stream.send_all("\r\n".join(lines).encode())
        data = b""
        while b"\r\n" not in data:
            chunk = await stream.receive_some()
            if not chunk:
                break
            data += chunk
    return int(data.split(b" ", 2)[1])


def live_path(user: str) -> str:
    return f"/run_live?app_name=echo&user_id={user}&session_id=s1&modalities=TEXT"


async def live(served: Served, user: str, headers: Headers) -> int | str:
    """Open ``/run_live`` as ``user``: the handshake's refusal status, or the echoed text
    of one turn (then the client closes the conversation)."""
    status = await handshake_status(served, live_path(user), headers)
    if status != 101:
        return status
    url = f"ws://127.0.0.1:{served.port}{live_path(user)}"
    async with trio_websocket.open_websocket_url(
            url, extra_headers=[(k.encode(), v.encode()) for k, v in headers.items()]) as ws:
        await ws.send_message(json.dumps({"content": user_message("hi")}))
        with trio.fail_after(10):
            while True:
                event = json.loads(await ws.get_message())
                text = event.get("content", {}).get("parts", [{}])[0].get("text")
                if text and not event.get("partial"):
                    await ws.send_message(json.dumps({"close": True}))
                    return str(text)


def ok(responses: dict[str, httpx.Response]) -> dict[str, int]:
    return {name: response.status_code for name, response in responses.items()}


ALL_OK = {"sessions": 200, "session": 200, "artifacts": 200, "memory": 200, "run": 200,
          "run_sse": 200}


async def test_no_auth_is_adk_anyone_is_any_user() -> None:
    """Without auth (the default, as ADK) every route serves any user to anyone."""
    async with serving() as served, served.client() as client:
        for user in ("alice", "bob"):
            assert ALL_OK == ok(await http_families(client, user, {}))
            assert "You said: hi" == await live(served, user, {})


async def test_bearer_needs_a_known_token_on_every_route() -> None:
    """Bearer: no token or a wrong one is 401 with a challenge (HTTP) or a refused
    handshake (live); a known token opens every route; /health stays open."""
    async with serving(auth=BearerAuth(TOKENS)) as served, served.client() as client:
        for headers in ({}, {"authorization": "Bearer nope"},
                        {"authorization": f"Basic {ALICE_TOKEN}"}):
            responses = await http_families(client, "alice", headers)
            assert {name: 401 for name in ALL_OK} == ok(responses)
            for response in responses.values():
                assert response.headers["www-authenticate"].startswith(
                    'Bearer realm="trio-adk"')
                assert ALICE_TOKEN not in response.text
            assert 401 == await live(served, "alice", headers)
        good = {"authorization": f"Bearer {ALICE_TOKEN}"}
        assert ALL_OK == ok(await http_families(client, "alice", good))
        assert "You said: hi" == await live(served, "alice", good)
        assert 200 == (await client.get("/health")).status_code
        assert 401 == (await client.get("/list-apps")).status_code


async def test_bearer_without_strict_lets_a_caller_act_as_anyone() -> None:
    """Authentication alone does not bind users: alice's token reads bob's sessions."""
    async with serving(auth=BearerAuth(TOKENS)) as served, served.client() as client:
        good = {"authorization": f"Bearer {ALICE_TOKEN}"}
        assert ALL_OK == ok(await http_families(client, "bob", good))


async def test_header_auth_takes_the_proxy_header() -> None:
    """Header: the proxy's X-Forwarded-User is the caller; without it, 401 everywhere."""
    async with serving(auth=HeaderAuth()) as served, served.client() as client:
        responses = await http_families(client, "alice", {})
        assert {name: 401 for name in ALL_OK} == ok(responses)
        assert "X-Forwarded-User" in responses["sessions"].json()["detail"]
        assert 401 == await live(served, "alice", {})
        proxied = {"x-forwarded-user": "alice"}
        assert ALL_OK == ok(await http_families(client, "alice", proxied))
        assert "You said: hi" == await live(served, "alice", proxied)


@pytest.mark.parametrize("auth", ["bearer", "header"])
async def test_strict_binds_the_user_of_paths_bodies_and_live(auth: str) -> None:
    """Strict: alice acts as alice on every route family, and gets 403 as bob (path,
    /run and /run_sse bodies, /run_live's user_id)."""
    authenticator = BearerAuth(TOKENS) if auth == "bearer" else HeaderAuth()
    alice = ({"authorization": f"Bearer {ALICE_TOKEN}"} if auth == "bearer"
             else {"x-forwarded-user": "alice"})
    async with serving(auth=authenticator, strict_user=True) as served, \
            served.client() as client:
        assert ALL_OK == ok(await http_families(client, "alice", alice))
        assert "You said: hi" == await live(served, "alice", alice)
        as_bob = await http_families(client, "bob", alice)
        assert {name: 403 for name in ALL_OK} == ok(as_bob)
        assert "Forbidden: user 'bob' is not the authenticated user." == as_bob[
            "run_sse"].json()["detail"]
        assert 403 == await live(served, "bob", alice)
        deleted = await client.delete("/apps/echo/users/bob/sessions/s1", headers=alice)
        assert 403 == deleted.status_code
        assert await served.server.session_service.get_session(
            app_name="echo", user_id="bob", session_id="s1") is not None
        listed = await client.get("/apps/echo/users/alice/sessions", headers=alice)
        assert ["s1"] == [s["id"] for s in listed.json()]


async def test_strict_refuses_a_token_bound_to_no_user() -> None:
    """A token without a user authenticates, but strict mode gives it no user to act as."""
    async with serving(auth=BearerAuth(TOKENS), strict_user=True) as served, \
            served.client() as client:
        unbound = {"authorization": f"Bearer {NOBODY_TOKEN}"}
        response = await client.get("/apps/echo/users/alice/sessions", headers=unbound)
        assert 403 == response.status_code
        assert 200 == (await client.get("/list-apps", headers=unbound)).status_code


async def test_strict_run_sse_refusal_starts_no_run() -> None:
    """A /run_sse for another user is refused before the run: bob's session is unchanged."""
    async with serving(auth=HeaderAuth(), strict_user=True) as served, \
            served.client() as client:
        response = await client.post("/run_sse", json=_run_body("bob"),
                                     headers={"x-forwarded-user": "alice"})
        assert 403 == response.status_code
        session = await served.server.session_service.get_session(
            app_name="echo", user_id="bob", session_id="s1")
        assert [] == session.events
        mine = await client.post("/run_sse", json=_run_body("alice"),
                                 headers={"x-forwarded-user": "alice"})
        assert "You said: hello" == sse_events(mine.text)[-1]["content"]["parts"][0]["text"]


async def test_tokens_never_reach_logs_reprs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    """A presented token (good or bad) is in no log record, no repr and no response."""
    caplog.set_level(logging.DEBUG)
    auth = BearerAuth(TOKENS)
    assert "<BearerAuth 2 token(s)>" == repr(auth)
    assert ALICE_TOKEN not in repr(Caller("alice"))
    async with serving(auth=auth) as served, served.client() as client:
        bad = await client.get("/list-apps", headers={"authorization": "Bearer wrong-secret"})
        good = await client.post("/run_sse", json=_run_body("alice"),
                                 headers={"authorization": f"Bearer {ALICE_TOKEN}"})
        assert ALICE_TOKEN not in repr(served.server)
    assert "wrong-secret" not in bad.text
    assert ALICE_TOKEN not in good.text
    for record in caplog.records:
        assert ALICE_TOKEN not in record.getMessage()
        assert "wrong-secret" not in record.getMessage()


def test_token_sources_parse_users_and_never_echo_tokens(tmp_path: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Tokens come as ``USER:TOKEN`` or ``TOKEN`` entries (lines or commas) from a file or an
    environment variable; a bad entry is named by number, not by content."""
    assert {"t1": "alice", "t2": None, "t3": "bob"} == parse_tokens(
        "# comment\nalice:t1\nt2, bob:t3\n\n", source="x")
    with pytest.raises(ValueError, match="entry 2 has an invalid user id") as caught:
        parse_tokens("alice:t1\n :secret-token", source="x")
    assert "secret-token" not in str(caught.value)
    with pytest.raises(ValueError, match="holds no tokens"):
        parse_tokens("# nothing", source="x")
    path = tmp_path / "tokens"
    path.write_text("alice:t1\n")
    assert "<BearerAuth 1 token(s)>" == repr(BearerAuth.from_file(path))
    monkeypatch.setenv("TRIO_ADK_AUTH_TOKENS", "alice:t1,bob:t2")
    assert "<BearerAuth 2 token(s)>" == repr(BearerAuth.from_env())
    monkeypatch.delenv("TRIO_ADK_AUTH_TOKENS")
    with pytest.raises(ValueError, match="TRIO_ADK_AUTH_TOKENS is not set"):
        BearerAuth.from_env()


def test_strict_needs_an_authenticator() -> None:
    """``strict_user`` without ``auth`` would bind users to nobody: refused at once."""
    from test_server_support import DictLoader, memory_services

    with pytest.raises(ValueError, match="pass auth too"):
        ApiServer(agent_loader=DictLoader({}), services=memory_services(), strict_user=True)


class _TeamAuth:
    """An app's own authenticator: ``X-Team`` names the user, only the "red" team may call."""

    async def authenticate(self, connection: Any) -> Caller:
        from trio_adk.server import AuthError

        team = connection.headers.get("x-team")
        if team != "red":
            raise AuthError("Forbidden: red team only.", status=403)
        return Caller("alice")


async def test_an_app_plugs_its_own_authenticator() -> None:
    """Any object with ``authenticate`` plugs in; its AuthError status is the answer."""
    async with serving(auth=_TeamAuth(), strict_user=True) as served, \
            served.client() as client:
        assert 403 == (await client.get("/list-apps", headers={"x-team": "blue"})).status_code
        assert ALL_OK == ok(await http_families(client, "alice", {"x-team": "red"}))
