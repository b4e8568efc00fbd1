"""Batch processing: many conversation turns at once with ``runner.run_batch``.

Each request is ``(user_id, session_id, message)`` (or a dict with those keys); a
plain string message is a user text.  At most ``max_concurrency`` runs at once, results
come back in request order, and a failing request does not stop the others.  Runs
offline: a FunctionModel answers from a small table after a short "thinking" delay.
"""

from __future__ import annotations

import asyncio

from trio_adk import Agent, InMemoryRunner
from trio_adk.models import LlmRequest
from trio_adk.testing import FunctionModel

CAPITALS = {"France": "Paris", "Japan": "Tokyo", "Kenya": "Nairobi", "Peru": "Lima"}


class Meter:
    """Counts the model calls in progress."""

    active = 0
    most = 0


async def offline_model(request: LlmRequest) -> str:
    """Stands in for Gemini: looks the country up, taking 0.1 s like a real call.

    User code runs on asyncio under the sync ``run_batch`` (as in ADK), so it awaits
    asyncio's sleep.
    """
    Meter.active += 1
    Meter.most = max(Meter.most, Meter.active)
    try:
        await asyncio.sleep(0.1)
    finally:
        Meter.active -= 1
    question = "".join(part.text or "" for part in request.contents[-1].parts or ())
    country = question.removeprefix("Capital of ").rstrip("?")
    if country not in CAPITALS:
        raise LookupError(f"no such country: {country}")
    return f"The capital of {country} is {CAPITALS[country]}."


root_agent = Agent(
    name="geography_agent",
    model=FunctionModel(function=offline_model),
    instruction="Answer with the capital city of the country asked about.",
)


def main() -> None:
    requests: list[object] = [(f"user{i}", f"session{i}", f"Capital of {country}?")
                              for i, country in enumerate(CAPITALS)]
    requests.append({"user_id": "user9", "session_id": "session9",
                     "new_message": "Capital of Atlantis?"})
    with InMemoryRunner(root_agent, app_name="batch_example") as runner:
        results = runner.run_batch(requests, max_concurrency=3)
    for result in results:
        if result.ok:
            print(f"{result.request.session_id}: {result.text}")
        else:
            print(f"{result.request.session_id}: failed with {result.error!r}")
    succeeded = sum(result.ok for result in results)
    print(f"{succeeded} of {len(results)} requests succeeded, "
          f"at most {Meter.most} ran at once")


if __name__ == "__main__":
    main()
