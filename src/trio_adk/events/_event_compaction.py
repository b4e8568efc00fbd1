"""EventCompaction: the summary that stands in for a span of a session's events."""

from __future__ import annotations

import attrs
from google.genai import types

from trio_adk._utils._model import ModelMixin


@attrs.define(kw_only=True)
class EventCompaction(ModelMixin):
    """A summary of the session's events from ``start_timestamp`` to ``end_timestamp``.

    A compaction event carries it in ``actions.compaction`` (ADK's shape, stored as
    ADK stores it).  When the history for a model request is built, the events whose
    timestamps fall in ``[start_timestamp, end_timestamp]`` are left out and
    ``compacted_content`` (role ``model``) is sent in their place.

    Attributes:
        start_timestamp: Timestamp of the first event summarized.
        end_timestamp: Timestamp of the last event summarized.
        compacted_content: The summary.
    """

    start_timestamp: float
    end_timestamp: float
    compacted_content: types.Content
