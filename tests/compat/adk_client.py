"""Run by google-adk 2.13's own interpreter (a subprocess of tests/test_server_adk_client.py).

Usage: python adk_client.py BASE_URL APP; prints one JSON document.

Drives a server at BASE_URL with ADK's own HTTP client (``AdkWebServerClient`` from ADK's
conformance package), which parses every answer into ADK's pydantic types: version, list
apps, create, get, update, list and delete sessions, and ``/run_sse`` (streaming and not).
Any answer ADK's client cannot parse fails the script; the JSON says what it parsed.
"""

import asyncio
import json
import sys

import httpx
from google.adk.cli.adk_web_server import RunAgentRequest
from google.adk.cli.conformance.adk_web_server_client import AdkWebServerClient
from google.adk.events.event import Event
from google.adk.sessions.session import Session
from google.genai import types


def _event_summary(event: Event) -> dict:
    text = "".join(part.text or "" for part in (event.content.parts if event.content else []))
    return {"author": event.author, "partial": bool(event.partial), "text": text,
            "invocation_id": bool(event.invocation_id), "id": bool(event.id),
            "timestamp": event.timestamp > 0}


async def main(base_url: str, app: str) -> dict:
    out: dict = {}
    async with AdkWebServerClient(base_url=base_url) as client:
        version = await client.get_version_data()
        out["version_keys"] = sorted(version)

        # The client has no list-apps/list-sessions helpers: the same httpx client, ADK types.
        async with client._get_client() as http:
            apps = (await http.get("/list-apps")).json()
        out["apps"] = apps

        created = await client.create_session(app_name=app, user_id="judge",
                                              state={"k": "v"})
        out["created"] = {"app_name": created.app_name, "user_id": created.user_id,
                          "state": created.state, "events": len(created.events),
                          "last_update_time": created.last_update_time > 0}
        fetched = await client.get_session(app_name=app, user_id="judge",
                                           session_id=created.id)
        out["fetched_same_id"] = fetched.id == created.id
        updated = await client.update_session(app_name=app, user_id="judge",
                                              session_id=created.id,
                                              state_delta={"k2": 2})
        out["updated_state"] = updated.state

        for streaming in (False, True):
            request = RunAgentRequest(
                app_name=app, user_id="judge", session_id=created.id, streaming=streaming,
                new_message=types.Content(role="user", parts=[types.Part(text="hello")]))
            events = [event async for event in client.run_agent(request)]
            out[f"run_sse_streaming_{streaming}"] = [_event_summary(e) for e in events]

        after = await client.get_session(app_name=app, user_id="judge",
                                         session_id=created.id)
        out["stored_authors"] = [event.author for event in after.events]

        async with client._get_client() as http:
            listed = [Session.model_validate(item) for item in
                      (await http.get(f"/apps/{app}/users/judge/sessions")).json()]
        out["listed_ids"] = [session.id == created.id for session in listed]

        await client.delete_session(app_name=app, user_id="judge", session_id=created.id)
        try:
            await client.get_session(app_name=app, user_id="judge", session_id=created.id)
            out["after_delete"] = "still there"
        except httpx.HTTPStatusError as exc:
            out["after_delete"] = exc.response.status_code
    return out


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2]))))
