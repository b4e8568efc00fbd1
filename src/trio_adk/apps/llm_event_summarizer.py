"""``LlmEventSummarizer`` at ADK's path (``google.adk.apps.llm_event_summarizer``)."""

from trio_adk.apps._summarizer import LlmEventSummarizer as LlmEventSummarizer

__all__ = ["LlmEventSummarizer"]
