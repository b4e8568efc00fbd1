"""User code (tools, callbacks, plugins, custom agents, models) on the caller's library."""
