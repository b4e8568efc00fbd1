"""PlanReActPlanner: the model writes a plan, acts, reasons, and ends with a final
answer, each section under its tag; everything but the final answer becomes thought."""

from __future__ import annotations

from typing import TYPE_CHECKING

from google.genai import types

from trio_adk.planners._base_planner import BasePlanner

if TYPE_CHECKING:
    from trio_adk.agents._callback_context import CallbackContext, ReadonlyContext
    from trio_adk.models._llm_request import LlmRequest

PLANNING_TAG = "/*PLANNING*/"
"""Opens the plan."""
REPLANNING_TAG = "/*REPLANNING*/"
"""Opens a revised plan, after the first one failed."""
REASONING_TAG = "/*REASONING*/"
"""Opens reasoning between actions."""
ACTION_TAG = "/*ACTION*/"
"""Opens a tool call written as code."""
FINAL_ANSWER_TAG = "/*FINAL_ANSWER*/"
"""Opens the final answer: the only text left visible (not thought)."""

_THOUGHT_TAGS = (PLANNING_TAG, REASONING_TAG, ACTION_TAG, REPLANNING_TAG)

_SECTIONS = (
    (
        "Answer with the tools you have: look the information up with them rather than "
        "relying on what you remember.\n\n"
        "Work in three stages: (1) write a plan in plain language; (2) carry it out with "
        "the tools, writing short reasoning between the tool snippets that sums up where "
        "you are and what comes next, so that snippets and reasoning alternate; (3) "
        "finish with one final answer.\n\n"
        f"Mark each part of your reply with its tag: (1) put the plan under {PLANNING_TAG}; "
        f"(2) put tool snippets under {ACTION_TAG} and reasoning under {REASONING_TAG}; "
        f"(3) put the final answer under {FINAL_ANSWER_TAG}."
    ),
    (
        "What the plan must be:\n"
        "Following it answers the user's query. It covers every part of the query, is "
        "consistent, and uses only tools this agent has. It is a numbered list of steps, "
        "each using one or more of the tools, clear enough that the tool to call or the "
        "action to take at each step is obvious.\n"
        "If the plan cannot be carried out, learn from what the tools returned and write a "
        f"revised plan under {REPLANNING_TAG}, then follow that one with the tools."
    ),
    (
        "What the reasoning must be:\n"
        "It sums up the work so far from the query and the tool results, and, from those "
        "results and the plan, says what to do next to get closer to the final answer."
    ),
    (
        "What the final answer must be:\n"
        "Exact, and in the format the query asks for. When the tools and information at "
        "hand cannot answer the query, say why and ask the user for what is missing."
    ),
    (
        "What the tool snippets must be:\n\n"
        "**Custom tools:** the tools are described in the context and can be called "
        "directly.\n"
        "- Each snippet is valid, self-contained Python without imports, using no tool or "
        "library that the context does not describe.\n"
        "- Use only the parameters and fields the context defines for each tool.\n"
        "- Keep snippets readable, efficient and to the point of the query and the "
        "reasoning.\n"
        "- Call a tool with its library name and function name, e.g. "
        "vertex_search.search().\n"
        "- When the context provides no Python libraries, write nothing but calls to the "
        "provided tools."
    ),
    (
        "Above all, also follow these rules:\n\n"
        "Ask the user to clarify when you need more information to answer.\n"
        "Prefer the information already in the context over calling tools again."
    ),
)
_INSTRUCTION = "\n\n\n".join(_SECTIONS)


class PlanReActPlanner(BasePlanner):
    """Makes the model plan before it acts, without built-in thinking support.

    Each request gets an instruction asking for a plan under ``/*PLANNING*/``, tool
    snippets under ``/*ACTION*/``, reasoning under ``/*REASONING*/`` (a new plan under
    ``/*REPLANNING*/``) and the answer under ``/*FINAL_ANSWER*/``; earlier turns' parts are
    sent back as plain text (their ``thought`` mark removed).  In each response, the text
    before the last ``/*FINAL_ANSWER*/`` and any text opening with one of the other tags
    become thought parts with the tags removed, the final answer stays visible, and
    everything after the first group of function calls is dropped.
    """

    def build_planning_instruction(
        self, readonly_context: ReadonlyContext, llm_request: LlmRequest
    ) -> str:
        """The plan / act / reason / final-answer instruction."""
        return _INSTRUCTION

    def process_planning_response(
        self, callback_context: CallbackContext, response_parts: list[types.Part]
    ) -> list[types.Part] | None:
        """The parts with planning text marked as thought, the final answer split out,
        and nothing after the first run of function calls (unnamed calls dropped)."""
        if not response_parts:
            return None
        kept: list[types.Part] = []
        in_calls = False
        for part in response_parts:
            call = part.function_call
            if call is not None:
                if call.name:
                    kept.append(part)
                    in_calls = True
                continue
            if in_calls:
                break  # the first group of function calls ended
            kept.extend(_split_text_part(part))
        return kept


def _split_text_part(part: types.Part) -> list[types.Part]:
    text = part.text
    if text and FINAL_ANSWER_TAG in text:
        cut = text.rfind(FINAL_ANSWER_TAG)
        reasoning = _strip_tags(text[:cut])
        answer = text[cut + len(FINAL_ANSWER_TAG):]
        parts: list[types.Part] = []
        if reasoning:
            parts.append(types.Part(text=reasoning, thought=True))
        if answer:
            parts.append(types.Part(text=answer))
        return parts
    if text and text.startswith(_THOUGHT_TAGS):
        return [part.model_copy(update={"text": _strip_tags(text), "thought": True})]
    return [part]


def _strip_tags(text: str) -> str:
    for tag in _THOUGHT_TAGS:
        text = text.replace(tag, "")
    return text
