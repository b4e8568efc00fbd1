"""``BaseEventsSummarizer`` at ADK's path (``google.adk.apps.base_events_summarizer``)."""

from trio_adk.apps._summarizer import BaseEventsSummarizer as BaseEventsSummarizer

__all__ = ["BaseEventsSummarizer"]
