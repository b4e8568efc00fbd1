"""LiteLlm per-call overhead against the fake OpenAI-compatible server on loopback.

Three clients call the same ``python -m trio_adk.testing.fake_openai`` process, one call at a
time, unary and streamed (three text chunks), and report the median and mean time per call:

* trio-adk's ``LiteLlm`` (``generate_content_async``, which builds the body from an
  ``LlmRequest`` and parses the reply into an ``LlmResponse``), beside the floor measured in
  the same trio run: the same HTTP request sent with a bare ``httpx.AsyncClient`` (the stream
  read to its end), so the ratio is the adapter's own cost;
* google-adk's ``LiteLlm`` (litellm's ``acompletion``) in ADK's own interpreter
  (``--adk-python``, default $TRIO_ADK_GOOGLE_ADK_PYTHON, else /tmp/adkvenv/bin/python),
  with its own bare-httpx floor on asyncio; skipped when that interpreter or litellm is
  missing.

    python benchmarks/lite_llm.py [--calls 500] [--quick] [--adk-python PATH]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from _llm_overhead import Figures, main, measure_adk, measure_trio
from google.genai import types

from trio_adk.models import LiteLlm, LlmRequest

RESULTS = Path(__file__).resolve().parent / "results" / "lite_llm.json"
MODEL = "openai/gpt-4o-mini"
MESSAGE = "hello there"
KEY = "sk-bench"
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": MESSAGE}]}
STREAM = {"stream": True, "stream_options": {"include_usage": True}}


def llm_request() -> LlmRequest:
    return LlmRequest(model=MODEL, contents=[
        types.Content(role="user", parts=[types.Part(text=MESSAGE)])])


async def bench_trio(base: str, calls: int) -> Figures:
    return await measure_trio(LiteLlm(model=MODEL, api_base=base, api_key=KEY), llm_request,
                              calls, url=f"{base}/chat/completions", body=BODY,
                              stream_extra=STREAM)


def bench_adk(python: str, base: str, calls: int) -> dict[str, Any] | None:
    return measure_adk(
        python, base, calls, model_class="google.adk.models.lite_llm.LiteLlm",
        model_kwargs={"model": MODEL, "api_base": base, "api_key": KEY}, request_model=MODEL,
        url=f"{base}/chat/completions", body=BODY, stream_extra=STREAM,
        env={"LITELLM_LOG": "ERROR"})


if __name__ == "__main__":
    main(__doc__.splitlines()[0], fake_module="trio_adk.testing.fake_openai",
         results_file=RESULTS, ours_name="LiteLlm", adk_name="LiteLlm",
         bench_trio=bench_trio, bench_adk=bench_adk)
