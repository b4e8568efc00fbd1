"""``trio-adk create NAME`` writes an app that ``trio-adk run NAME`` runs at once, as
``adk create`` does, and refuses what it cannot write well.

The commands run for real in subprocesses, in ``tmp_path``; the model is a fake Gemini server
on loopback.
"""

from __future__ import annotations

import ast
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import serve_in_thread
from trio_adk.agents import LlmAgent
from trio_adk.testing import FakeGeminiServer

TIMEOUT = 120
ENV_VARS = ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL",
            "ADK_DISABLE_LOAD_DOTENV")


def trio_adk(*args: str, cwd: Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    env.update(extra_env)
    return subprocess.run([sys.executable, "-m", "trio_adk", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT)


def root_agent_call(agent_py: str) -> dict[str, object]:
    """The keyword arguments of ``root_agent = Agent(...)`` in ``agent_py``."""
    tree = ast.parse(agent_py)
    [call] = [node.value for node in tree.body if isinstance(node, ast.Assign)
              and [t.id for t in node.targets if isinstance(t, ast.Name)] == ["root_agent"]]
    assert isinstance(call, ast.Call)
    return {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords if kw.arg}


def test_create_then_run_end_to_end(tmp_path: Path) -> None:
    """The new app's .env carries the key; ``run`` loads it and talks to the model."""
    created = trio_adk("create", "my_app", "--model", "gemini-2.5-flash", "--api_key",
                       "key-from-create", cwd=tmp_path)
    assert 0 == created.returncode, created.stderr

    server = FakeGeminiServer(require_api_key="key-from-create")
    with serve_in_thread(server) as url:
        result = trio_adk("run", "my_app", "hi", cwd=tmp_path, GOOGLE_GEMINI_BASE_URL=url)

    assert 0 == result.returncode, result.stderr
    assert "[root_agent]: You said: hi\n" == result.stdout
    assert [("gemini-2.5-flash", "key-from-create")] == [(r.model_id, r.api_key)
                                                         for r in server.requests]


def test_the_files_written(tmp_path: Path) -> None:
    result = trio_adk("create", "weather", "--model", "gemini-2.5-pro", "--api-key", "k123",
                      cwd=tmp_path)

    assert 0 == result.returncode, result.stderr
    folder = tmp_path / "weather"
    assert {".env", ".gitignore", "__init__.py", "agent.py"} == {p.name for p in
                                                                 folder.iterdir()}
    assert "from . import agent as agent\n" == (folder / "__init__.py").read_text()
    agent_py = (folder / "agent.py").read_text()
    assert "from trio_adk import Agent\n" in agent_py
    assert "google.adk" not in agent_py
    call = root_agent_call(agent_py)
    assert "gemini-2.5-pro" == call["model"]
    assert "root_agent" == call["name"]
    assert "GOOGLE_GENAI_USE_ENTERPRISE=0\nGOOGLE_API_KEY=k123\n" == (folder / ".env").read_text()
    assert 0o600 == stat.S_IMODE((folder / ".env").stat().st_mode)
    assert ".env\n.adk/\n" == (folder / ".gitignore").read_text()
    assert "trio-adk run weather" in result.stdout
    assert "k123" not in result.stdout + result.stderr


def test_without_options_the_default_model_and_a_placeholder_key(tmp_path: Path) -> None:
    result = trio_adk("create", "plain", cwd=tmp_path)

    assert 0 == result.returncode, result.stderr
    folder = tmp_path / "plain"
    assert LlmAgent.DEFAULT_MODEL == root_agent_call((folder / "agent.py").read_text())["model"]
    dotenv = (folder / ".env").read_text()
    assert "# GOOGLE_API_KEY=" in dotenv
    assert [] == [line for line in dotenv.splitlines() if line and not line.startswith("#")]
    assert "Put your Gemini API key in plain/.env (GOOGLE_API_KEY)." in result.stdout


def test_a_model_name_is_written_as_a_python_string(tmp_path: Path) -> None:
    odd = "gemini-'quoted\"-model"
    result = trio_adk("create", "odd", "--model", odd, cwd=tmp_path)

    assert 0 == result.returncode, result.stderr
    assert odd == root_agent_call((tmp_path / "odd" / "agent.py").read_text())["model"]


def test_a_path_names_the_folder_and_its_last_part_the_app(tmp_path: Path) -> None:
    result = trio_adk("create", "apps/helper", cwd=tmp_path)

    assert 0 == result.returncode, result.stderr
    assert (tmp_path / "apps" / "helper" / "agent.py").is_file()
    assert "trio-adk api_server apps" in result.stdout


def test_an_existing_empty_folder_is_used(tmp_path: Path) -> None:
    (tmp_path / "ready").mkdir()
    result = trio_adk("create", "ready", cwd=tmp_path)

    assert 0 == result.returncode, result.stderr
    assert (tmp_path / "ready" / "agent.py").is_file()


def test_an_existing_non_empty_folder_is_refused_and_left_alone(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "agent.py").write_text("mine = True\n")
    result = trio_adk("create", "taken", cwd=tmp_path)

    assert 1 == result.returncode
    assert ["trio-adk: error: 'taken' already exists and is not empty. Choose another name, or "
            "move it away first."] == result.stderr.splitlines()
    assert ["agent.py"] == [p.name for p in (tmp_path / "taken").iterdir()]
    assert "mine = True\n" == (tmp_path / "taken" / "agent.py").read_text()


def test_a_file_in_the_way_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes").write_text("not a folder")
    result = trio_adk("create", "notes", cwd=tmp_path)

    assert 1 == result.returncode
    assert "already exists" in result.stderr
    assert "not a folder" == (tmp_path / "notes").read_text()


@pytest.mark.parametrize(("name", "expected"), [
    ("my-app", "'my-app' is not a valid app name: use letters, digits and underscores, "
               "starting with a letter (for example 'my_app')."),
    ("1app", "'1app' is not a valid app name"),
    ("a b", "'a b' is not a valid app name"),
    ("user", "'user' is reserved"),
    ("..", "'..' is not a valid app name"),
])
def test_invalid_names_are_refused(tmp_path: Path, name: str, expected: str) -> None:
    result = trio_adk("create", name, cwd=tmp_path)

    assert 2 == result.returncode
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert [] == list(tmp_path.iterdir())


def test_help_is_plain_text(tmp_path: Path) -> None:
    result = trio_adk("create", "--help", cwd=tmp_path)

    assert 0 == result.returncode
    for word in ("--model", "--api_key", "NAME/.env", ".gitignore"):
        assert word in result.stdout
    assert "`" not in result.stdout
