"""Claude's per-call overhead against the fake Anthropic server on loopback.

Clients call the same ``python -m trio_adk.testing.fake_anthropic`` process, one call at a
time, unary and streamed (the built-in echo reply), and report the median and mean time per
call:

* trio-adk's ``Claude`` (``generate_content_async``: the body built from an ``LlmRequest``,
  sent through the anthropic SDK on trio, the reply parsed into ``LlmResponse`` objects),
  beside the floor measured in the same trio run, call by call: the same HTTP request sent
  with a bare ``httpx.AsyncClient`` (the stream read to its end), so the ratio is the
  adapter's own cost (SDK included);
* google-adk's ``AnthropicLlm`` (the same SDK on asyncio) in ADK's own interpreter
  (``--adk-python``, default $TRIO_ADK_GOOGLE_ADK_PYTHON, else /tmp/adkvenv/bin/python),
  with its own bare-httpx floor on asyncio; skipped when that interpreter or the SDK is
  missing.

    python benchmarks/anthropic_llm.py [--calls 500] [--quick] [--adk-python PATH]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from _llm_overhead import Figures, main, measure_adk, measure_trio
from google.genai import types

from trio_adk.models import Claude, LlmRequest
from trio_adk.models._anthropic_wire import request_body

RESULTS = Path(__file__).resolve().parent / "results" / "anthropic_llm.json"
MODEL = "claude-sonnet-4-20250514"
MESSAGE = "hello there"
KEY = "sk-ant-bench"


def llm_request() -> LlmRequest:
    return LlmRequest(model=MODEL, contents=[
        types.Content(role="user", parts=[types.Part(text=MESSAGE)])])


async def bench_trio(base: str, calls: int) -> Figures:
    model = Claude(model=MODEL, base_url=base, api_key=KEY)
    return await measure_trio(
        model, llm_request, calls, url=f"{base}/v1/messages",
        body=request_body(llm_request(), MODEL, model.max_tokens), stream_extra={"stream": True},
        headers={"authorization": f"Bearer {KEY}", "anthropic-version": "2023-06-01"})


def bench_adk(python: str, base: str, calls: int) -> dict[str, Any] | None:
    return measure_adk(
        python, base, calls, model_class="google.adk.models.anthropic_llm.AnthropicLlm",
        model_kwargs={"model": MODEL}, request_model=MODEL, url=f"{base}/v1/messages",
        body=request_body(llm_request(), MODEL, 8192), stream_extra={"stream": True},
        env={"ANTHROPIC_BASE_URL": base, "ANTHROPIC_API_KEY": KEY})


if __name__ == "__main__":
    main(__doc__.splitlines()[0], fake_module="trio_adk.testing.fake_anthropic",
         results_file=RESULTS, ours_name="Claude", adk_name="AnthropicLlm",
         bench_trio=bench_trio, bench_adk=bench_adk)
