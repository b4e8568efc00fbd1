"""``trio-adk create NAME``: a new app folder that ``trio-adk run NAME`` can run at once."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import click

from trio_adk.cli._errors import api_keys, redact
from trio_adk.cli._running import EXIT_ERROR

_APP_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_RESERVED = frozenset({"user"})  # ADK keeps "user" for the end user's own events

_INIT_PY = "from . import agent as agent\n"

_AGENT_PY = '''\
"""The {name} app: `trio-adk run` and `trio-adk api_server` talk to its root_agent."""

from trio_adk import Agent

root_agent = Agent(
    model={model},
    name="root_agent",
    description="A helpful assistant for user questions.",
    instruction="Answer user questions to the best of your knowledge.",
)
'''

_DOTENV_WITH_KEY = "GOOGLE_GENAI_USE_ENTERPRISE=0\nGOOGLE_API_KEY={key}\n"
_DOTENV_WITHOUT_KEY = """\
# Your Gemini API key (https://aistudio.google.com/apikey); a GOOGLE_API_KEY already set in
# the environment wins over this file.
# GOOGLE_API_KEY=paste-your-key-here
"""

GITIGNORE_ENTRIES = (".env", ".adk/")
"""What the app's ``.gitignore`` keeps out of version control: the key, and local sessions."""


def _default_model() -> str:
    from trio_adk.agents._llm_agent import LlmAgent

    return LlmAgent.DEFAULT_MODEL


def _check_name(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    name = os.path.basename(os.path.normpath(value)) if value else ""
    if not _APP_NAME.fullmatch(name):
        suggestion = re.sub(r"[^A-Za-z0-9_]", "_", name)
        hint = (f" (for example {suggestion!r})" if _APP_NAME.fullmatch(suggestion or "-")
                else "")
        raise click.BadParameter(
            f"{name!r} is not a valid app name: use letters, digits and underscores, starting "
            f"with a letter{hint}. The folder's name is the app's name, imported as a Python "
            f"package.")
    if name in _RESERVED:
        raise click.BadParameter(f"{name!r} is reserved for the end user's own events: choose "
                                 f"another app name.")
    return value


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    """Write a new file (never one that exists: ``open`` mode ``x``)."""
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "w",
              encoding="utf-8") as file:
        file.write(text)


def _add_gitignore_entries(folder: Path) -> None:
    path = folder / ".gitignore"
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    missing = [entry for entry in GITIGNORE_ENTRIES if entry not in existing.splitlines()]
    if not missing:
        return
    separator = "\n" if existing and not existing.endswith("\n") else ""
    with open(path, "a", encoding="utf-8") as file:
        file.write(separator + "".join(f"{entry}\n" for entry in missing))


def create_app(folder: Path, *, model: str, api_key: str | None) -> None:
    """Write the app skeleton into ``folder`` (created if missing; it must be empty).

    ``folder/__init__.py`` imports ``agent``; ``folder/agent.py`` defines ``root_agent``, an
    ``Agent`` on ``model``; ``folder/.env`` holds ``api_key`` (readable by the owner only), or
    a commented placeholder; ``folder/.gitignore`` lists ``.env`` and ``.adk/``.

    Raises:
        FileExistsError: ``folder`` exists and is not an empty directory.
    """
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise FileExistsError(folder)
    folder.mkdir(parents=True, exist_ok=True)
    dotenv = _DOTENV_WITHOUT_KEY if api_key is None else _DOTENV_WITH_KEY.format(key=api_key)
    _write(folder / ".env", dotenv, 0o600)
    _add_gitignore_entries(folder)
    _write(folder / "__init__.py", _INIT_PY)
    _write(folder / "agent.py", _AGENT_PY.format(name=folder.name, model=json.dumps(model)))


@click.command(short_help="Write a new app folder (agent.py, __init__.py, .env, .gitignore).")
@click.argument("name", callback=_check_name)
@click.option("--model", metavar="MODEL",
              help="The root agent's model (default: trio-adk's default Gemini model).")
@click.option("--api_key", "--api-key", "api_key", metavar="KEY",
              help="The Gemini API key to write into the app's .env.")
@click.pass_context
def create(ctx: click.Context, name: str, model: str | None, api_key: str | None) -> None:
    """Write a new app into the folder NAME, ready for trio-adk run NAME.

    \b
    NAME/__init__.py   imports agent
    NAME/agent.py      root_agent = Agent(model=..., ...), written with trio_adk imports
    NAME/.env          GOOGLE_API_KEY from --api_key, or a placeholder to fill in
    NAME/.gitignore    .env and .adk/ (the key and the app's local sessions)

    NAME may be a path (apps/my_app); its last part is the app's name: letters, digits and
    underscores, starting with a letter.  An existing folder must be empty.
    """
    folder = Path(name)
    shown = os.path.normpath(name)
    try:
        create_app(folder, model=model or _default_model(), api_key=api_key)
    except FileExistsError:
        click.echo(f"trio-adk: error: {shown!r} already exists and is not empty. Choose another "
                   f"name, or move it away first.", err=True)
        ctx.exit(EXIT_ERROR)
    except OSError as exc:
        message = redact(f"cannot write the app into {shown!r}: {exc.strerror or exc}.",
                         [*api_keys(), *([api_key] if api_key else [])])
        click.echo(f"trio-adk: error: {message}", err=True)
        ctx.exit(EXIT_ERROR)
    agents_dir = os.path.dirname(shown) or "."
    key_step = "" if api_key else f"- Put your Gemini API key in {shown}/.env (GOOGLE_API_KEY).\n"
    click.echo(f"App created in {shown}: __init__.py, agent.py, .env, .gitignore.\n"
               f"The API key lives in {shown}/.env: keep it out of version control.\n\n"
               f"Next steps:\n{key_step}"
               f"- Talk to it in the terminal: trio-adk run {shown}\n"
               f"- Serve it: trio-adk api_server {agents_dir}")
