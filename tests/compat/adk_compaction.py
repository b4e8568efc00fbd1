"""Run by google-adk 2.13's own interpreter (a subprocess of tests/test_compaction.py).

Usage: python adk_compaction.py PATH SESSION_ID COMMAND [ARGS]; prints one JSON document.
PATH is a Sqlite-JSON file (ADK's SqliteSessionService layout) holding the session of
app ``compat``, user ``user``.

* ``contents AGENT``: the history ADK would send for agent AGENT's next model call
  (its contents builder, rewinds and compaction applied), as a list of Content dumps.
* ``window INTERVAL OVERLAP THRESHOLD RETENTION``: the ids of the events ADK's
  post-invocation compaction would hand its summarizer now, or null (the summarizer
  records them and writes nothing); ``-`` leaves a setting out.
"""

import asyncio
import json
import sys

from google.adk.agents import LlmAgent
from google.adk.apps.app import App, EventsCompactionConfig
from google.adk.apps.base_events_summarizer import BaseEventsSummarizer
from google.adk.apps.compaction import _run_compaction_for_sliding_window
from google.adk.flows.llm_flows.context._contents import _get_contents
from google.adk.sessions.sqlite_session_service import SqliteSessionService

APP, USER = "compat", "user"


class Recording(BaseEventsSummarizer):
    def __init__(self):
        self.windows = []

    async def maybe_summarize_events(self, *, events):
        self.windows.append([e.id for e in events])
        return None


async def main(path, sid, command, *args):
    service = SqliteSessionService(path)
    session = await service.get_session(app_name=APP, user_id=USER, session_id=sid)
    if command == "contents":
        contents = _get_contents(None, session.events, args[0])
        return [c.model_dump(mode="json", exclude_none=True) for c in contents]
    if command == "window":
        recording = Recording()
        interval, overlap, threshold, retention = (None if a == "-" else int(a)
                                                   for a in args)
        app = App(name=APP, root_agent=LlmAgent(name="bot", model="gemini-2.5-flash"),
                  events_compaction_config=EventsCompactionConfig(
                      compaction_interval=interval, overlap_size=overlap,
                      token_threshold=threshold, event_retention_size=retention,
                      summarizer=recording))
        async for _ in _run_compaction_for_sliding_window(app, session, service):
            pass
        return recording.windows[0] if recording.windows else None
    raise SystemExit(f"unknown command {command!r}")


print(json.dumps(asyncio.run(main(*sys.argv[1:]))))
