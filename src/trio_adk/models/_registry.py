"""LLMRegistry: resolves model-name strings to BaseLlm classes."""

from __future__ import annotations

import functools
import re
import threading

from trio_adk.models._base_llm import BaseLlm


class LLMRegistry:
    """Maps model-name patterns to ``BaseLlm`` subclasses.

    Classes register with :meth:`register`; :meth:`resolve` returns the class whose
    pattern fully matches a name (earliest registration wins among equal matches, the
    latest registration of a pattern replaces earlier ones).  Safe to call from any
    thread.
    """

    _registry: dict[str, type[BaseLlm]] = {}
    _lock = threading.Lock()

    @staticmethod
    def register(llm_cls: type[BaseLlm]) -> None:
        """Register every pattern of ``llm_cls.supported_models()``."""
        with LLMRegistry._lock:
            for pattern in llm_cls.supported_models():
                LLMRegistry._registry[pattern] = llm_cls
            LLMRegistry._resolve_cached.cache_clear()

    @staticmethod
    def new_llm(model: str) -> BaseLlm:
        """Instantiate the class that serves ``model``."""
        return LLMRegistry.resolve(model)(model=model)

    @staticmethod
    def resolve(model: str) -> type[BaseLlm]:
        """Return the class that serves ``model``; ``ValueError`` when none does."""
        return LLMRegistry._resolve_cached(model)

    @staticmethod
    @functools.lru_cache(maxsize=256)
    def _resolve_cached(model: str) -> type[BaseLlm]:
        with LLMRegistry._lock:
            items = list(LLMRegistry._registry.items())
        for pattern, llm_cls in items:
            if re.fullmatch(pattern, model):
                return llm_cls
        known = ", ".join(sorted(p for p, _ in items)) or "(none)"
        raise ValueError(
            f"Model {model} not found. Registered model patterns: {known}. Pass a BaseLlm "
            "instance as the agent's model, or register a class with LLMRegistry.register()."
        )
