"""Implementation of :class:`trio_adk.testing.FakeGeminiServer` (private; use ``testing``)."""
