"""Which model names take Gemini's built-in tools (search, URL context, code execution).

ADK decides by the model's name: a built-in tool is only added to a request for a
``gemini-*`` model (also spelled ``models/gemini-*``, a Vertex resource path ending in
``.../models/gemini-*``, or a provider prefix such as ``gemini/gemini-*``), unless the
environment variable ``ADK_DISABLE_GEMINI_MODEL_ID_CHECK`` is on.  Gemini 3 and later
accept built-in tools in the same request as function declarations; earlier models do
not.  Pure functions of their arguments and the environment; any thread.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from google.genai import types

    from trio_adk.models._llm_request import LlmRequest

MODEL_CHECK_ENV = "ADK_DISABLE_GEMINI_MODEL_ID_CHECK"
"""Set to ``1``/``true``/``yes``/``on`` to add built-in tools whatever the model's name."""

_RESOURCE_PATH = re.compile(
    r"^(?:projects/[^/]+/locations/[^/]+/publishers/[^/]+/models/|apigee/(?:[^/]+/){0,2})(.+)$"
)
_VERSION = re.compile(r"^gemini-(\d+)(?:\.\d+)*(?:-|$)")


def model_check_disabled() -> bool:
    """True when ``ADK_DISABLE_GEMINI_MODEL_ID_CHECK`` is on in the environment."""
    value = os.environ.get(MODEL_CHECK_ENV, "").strip().lower()
    return value in {"1", "true", "yes", "on"}


def bare_model_name(model: str) -> str:
    """The model id inside a resource path or prefixed name (``gemini-2.5-flash``)."""
    match = _RESOURCE_PATH.match(model)
    if match:
        return match.group(1)
    if model.startswith("models/"):
        return model.removeprefix("models/")
    if model.startswith("projects/"):
        return model
    if "/" in model:
        last = model.rsplit("/", 1)[1]
        if last.startswith("gemini-"):
            return last
    return model


def is_gemini_model(model: str | None) -> bool:
    """True for a Gemini model name in any of its spellings."""
    return bool(model) and bare_model_name(model or "").startswith("gemini-")


def takes_builtin_with_functions(model: str | None) -> bool:
    """True for Gemini 3 and later: built-in tools next to function declarations."""
    if not model:
        return False
    match = _VERSION.match(bare_model_name(model))
    return match is not None and int(match.group(1)) >= 3


def require_gemini_model(llm_request: LlmRequest, what: str) -> None:
    """Raise ``ValueError`` naming ``what`` and the model unless the request's model is
    Gemini (or the model-name check is turned off)."""
    if not (is_gemini_model(llm_request.model) or model_check_disabled()):
        raise ValueError(
            f"{what} is not supported for model {llm_request.model!r}: built-in tools run "
            "inside Gemini, so the agent needs a gemini-* model (or set "
            f"{MODEL_CHECK_ENV}=1 when your Gemini model has another name)."
        )


def add_builtin_tool(llm_request: LlmRequest, tool: types.Tool, what: str) -> None:
    """Append ``tool`` to the request's config for a Gemini model (``ValueError``
    otherwise, see :func:`require_gemini_model`)."""
    require_gemini_model(llm_request, what)
    if llm_request.config.tools is None:
        llm_request.config.tools = []
    llm_request.config.tools.append(tool)
