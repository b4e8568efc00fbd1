"""Flows: how an LlmAgent turns a conversation into model calls, tool calls and events."""
