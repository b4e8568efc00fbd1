"""The fake Anthropic Messages API server (see :class:`FakeAnthropicServer`)."""
