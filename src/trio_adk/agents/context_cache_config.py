"""``ContextCacheConfig`` at ADK's path (``google.adk.agents.context_cache_config``).

trio-adk does not cache contexts yet: an ``App`` refuses a context cache config.
"""

from trio_adk.apps._app import ContextCacheConfig as ContextCacheConfig

__all__ = ["ContextCacheConfig"]
