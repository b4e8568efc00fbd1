"""Helpers at ADK's ``google.adk.utils`` paths (see ``instructions_utils``)."""
