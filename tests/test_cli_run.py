"""``trio-adk run AGENT_DIR [QUERY]`` talks to an app as ``adk run`` does.

Every test runs the real command in a subprocess (``python -m trio_adk run``) on an app folder
written under ``tmp_path``, its model calls going to a fake Gemini server on loopback
(``GOOGLE_GEMINI_BASE_URL``), whose default reply echoes the user: ``You said: <text>``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from helpers import serve_in_thread
from trio_adk.testing import FakeGeminiServer, gemini_text

TIMEOUT = 120
ENV_VARS = ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL",
            "ADK_DISABLE_LOAD_DOTENV", "ADK_DISABLE_LOCAL_STORAGE")
AGENT_PY = """\
from trio_adk import Agent

root_agent = Agent(
    model='gemini-2.5-flash',
    name='root_agent',
    description='A helpful assistant for user questions.',
    instruction='Answer user questions to the best of your knowledge',
)
"""

needs_posix_signals = pytest.mark.skipif(sys.platform == "win32",
                                         reason="sends POSIX signals to a subprocess")


def env(**extra: str) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    values.update(extra)
    return values


def make_app(parent: Path, name: str = "my_app", agent_py: str = AGENT_PY) -> Path:
    folder = parent / name
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("from . import agent as agent\n")
    (folder / "agent.py").write_text(agent_py)
    return folder


def trio_adk(*args: str, cwd: Path, url: str, stdin: str = "",
             **extra_env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trio_adk", *args], cwd=cwd, input=stdin,
                          env=env(GOOGLE_GEMINI_BASE_URL=url, GOOGLE_API_KEY="test-key",
                                  **extra_env),
                          capture_output=True, text=True, timeout=TIMEOUT)


def user_texts(server: FakeGeminiServer) -> list[list[str]]:
    """For each model request, the texts of the user turns it carried."""
    return [[part["text"] for turn in request.body["contents"] if turn["role"] == "user"
             for part in turn["parts"] if "text" in part] for request in server.requests]


# -- one query -----------------------------------------------------------------------------


def test_one_query_prints_the_reply_and_the_session_id(tmp_path: Path) -> None:
    make_app(tmp_path)
    server = FakeGeminiServer()
    with serve_in_thread(server) as url:
        result = trio_adk("run", "my_app", "hi", cwd=tmp_path, url=url)

    assert 0 == result.returncode, result.stderr
    assert "[root_agent]: You said: hi\n" == result.stdout
    [line] = result.stderr.splitlines()
    assert line.startswith("Session ID: ")
    assert [["hi"]] == user_texts(server)


def test_the_app_folder_may_be_given_by_any_path(tmp_path: Path) -> None:
    """An absolute path, from another directory; the model named in agent.py is used."""
    folder = make_app(tmp_path / "agents")
    server = FakeGeminiServer(script=[gemini_text("Hello from the script.")])
    with serve_in_thread(server) as url:
        result = trio_adk("run", str(folder), "hi", cwd=tmp_path, url=url)

    assert 0 == result.returncode, result.stderr
    assert "[root_agent]: Hello from the script.\n" == result.stdout
    assert ["gemini-2.5-flash"] == [r.model_id for r in server.requests]


def test_jsonl_prints_one_adk_shaped_event_per_line(tmp_path: Path) -> None:
    make_app(tmp_path)
    with serve_in_thread(FakeGeminiServer()) as url:
        result = trio_adk("run", "--jsonl", "my_app", "hi", cwd=tmp_path, url=url)

    assert 0 == result.returncode, result.stderr
    assert "" == result.stderr  # no session line: it is in every event
    [line] = result.stdout.splitlines()
    event = json.loads(line)
    assert ["author", "session_id", "id"] == list(event)[:3]
    assert "root_agent" == event["author"]
    assert {"parts": [{"text": "You said: hi"}], "role": "model"} == event["content"]
    assert event["invocationId"].startswith("e-")
    assert "invocation_id" not in event
    assert "actions" not in event  # empty actions are left out, as ADK does


# -- the [user]: loop ------------------------------------------------------------------------


def test_the_loop_answers_each_line_until_exit(tmp_path: Path) -> None:
    make_app(tmp_path)
    server = FakeGeminiServer()
    with serve_in_thread(server) as url:
        result = trio_adk("run", "--in_memory", "my_app", cwd=tmp_path, url=url,
                          stdin="hello\n\n   \nsecond\nexit\nnever read\n")

    assert 0 == result.returncode, result.stderr
    assert ("Running agent root_agent, type exit to exit.\n"
            "[user]: [root_agent]: You said: hello\n"
            "[user]: [user]: [user]: [root_agent]: You said: second\n"
            "[user]: ") == result.stdout
    assert [["hello"], ["hello", "second"]] == user_texts(server)  # one session


def test_the_end_of_input_ends_the_loop(tmp_path: Path) -> None:
    make_app(tmp_path)
    with serve_in_thread(FakeGeminiServer()) as url:
        result = trio_adk("run", "--in-memory", "my_app", cwd=tmp_path, url=url,
                          stdin="hello\n")

    assert 0 == result.returncode, result.stderr
    assert result.stdout.endswith("[root_agent]: You said: hello\n[user]: \n")


def test_jsonl_loop_keeps_stdout_for_events(tmp_path: Path) -> None:
    make_app(tmp_path)
    with serve_in_thread(FakeGeminiServer()) as url:
        result = trio_adk("run", "--jsonl", "--in_memory", "my_app", cwd=tmp_path, url=url,
                          stdin="one\ntwo\n")

    assert 0 == result.returncode, result.stderr
    texts = [json.loads(line)["content"]["parts"][0]["text"]
             for line in result.stdout.splitlines()]
    assert ["You said: one", "You said: two"] == texts
    assert result.stderr.startswith("Running agent root_agent, type exit to exit.\n[user]: ")


# -- sessions and state ----------------------------------------------------------------------


def test_initial_state_reaches_the_instruction(tmp_path: Path) -> None:
    make_app(tmp_path, agent_py=AGENT_PY.replace("'Answer user questions to the best of your "
                                                 "knowledge'", "'Greet {name}.'"))
    server = FakeGeminiServer()
    with serve_in_thread(server) as url:
        result = trio_adk("run", "--in_memory", "--state", '{"name": "Ada"}', "my_app", "hi",
                          cwd=tmp_path, url=url)

    assert 0 == result.returncode, result.stderr
    [request] = server.requests
    assert "Greet Ada." in json.dumps(request.body["systemInstruction"])


def test_state_from_a_file(tmp_path: Path) -> None:
    make_app(tmp_path, agent_py=AGENT_PY.replace("'Answer user questions to the best of your "
                                                 "knowledge'", "'Greet {name}.'"))
    (tmp_path / "state.json").write_text('{"name": "Grace"}')
    server = FakeGeminiServer()
    with serve_in_thread(server) as url:
        result = trio_adk("run", "--in_memory", "--state_file", "state.json", "my_app", "hi",
                          cwd=tmp_path, url=url)

    assert 0 == result.returncode, result.stderr
    assert "Greet Grace." in json.dumps(server.requests[0].body["systemInstruction"])


def test_local_storage_lets_a_session_continue(tmp_path: Path) -> None:
    """By default sessions are stored in the app's .adk/session.db (ADK's layout), so
    --session_id continues a conversation in a later process."""
    pytest.importorskip("trio_adk.sessions.sqlite_session_service")
    folder = make_app(tmp_path)
    server = FakeGeminiServer()
    with serve_in_thread(server) as url:
        first = trio_adk("run", "--session_id", "s1", "my_app", "first", cwd=tmp_path, url=url)
        second = trio_adk("run", "--session-id", "s1", "my_app", "second", cwd=tmp_path,
                          url=url)

    assert 0 == first.returncode, first.stderr
    assert 0 == second.returncode, second.stderr
    assert "Session ID: s1\n" == second.stderr
    assert [["first"], ["first", "second"]] == user_texts(server)
    assert (folder / ".adk" / "session.db").is_file()


def test_in_memory_stores_nothing(tmp_path: Path) -> None:
    folder = make_app(tmp_path)
    with serve_in_thread(FakeGeminiServer()) as url:
        result = trio_adk("run", "--in_memory", "my_app", "hi", cwd=tmp_path, url=url)

    assert 0 == result.returncode, result.stderr
    assert not (folder / ".adk").exists()


def test_a_session_service_uri(tmp_path: Path) -> None:
    make_app(tmp_path)
    with serve_in_thread(FakeGeminiServer()) as url:
        result = trio_adk("run", "--session_service_uri", "memory://", "--artifact_service_uri",
                          "memory://", "--memory_service_uri", "memory://", "my_app", "hi",
                          cwd=tmp_path, url=url)

    assert 0 == result.returncode, result.stderr
    assert "[root_agent]: You said: hi\n" == result.stdout
    assert not (tmp_path / "my_app" / ".adk").exists()


# -- .env ------------------------------------------------------------------------------------


def test_the_apps_dotenv_is_loaded_and_set_variables_win(tmp_path: Path) -> None:
    """The .env found walking up from the app names the model server; a variable set in the
    environment beats the file's."""
    make_app(tmp_path / "project")
    server = FakeGeminiServer(require_api_key="key-from-env")
    with serve_in_thread(server) as url:
        (tmp_path / ".env").write_text(f"GOOGLE_GEMINI_BASE_URL={url}\n"
                                       "GOOGLE_API_KEY=key-from-file\n")
        result = subprocess.run(
            [sys.executable, "-m", "trio_adk", "run", "--in_memory", "project/my_app", "hi"],
            cwd=tmp_path, env=env(GOOGLE_API_KEY="key-from-env"), capture_output=True,
            text=True, timeout=TIMEOUT)

    assert 0 == result.returncode, result.stderr
    assert "[root_agent]: You said: hi\n" == result.stdout
    assert ["key-from-env"] == [r.api_key for r in server.requests]


# -- errors: one line ------------------------------------------------------------------------


def test_a_broken_app_is_one_line(tmp_path: Path) -> None:
    folder = make_app(tmp_path, agent_py="import no_such_module_for_trio_adk_tests\n")
    result = trio_adk("run", "my_app", "hi", cwd=tmp_path, url="http://127.0.0.1:9")

    assert 1 == result.returncode
    assert [f"trio-adk: error: App 'my_app' failed to import ({folder / 'agent.py'}, line 1): "
            "ModuleNotFoundError: No module named 'no_such_module_for_trio_adk_tests'. Fix the "
            "app's code (or install what it imports) and try again."] == result.stderr.splitlines()
    assert "" == result.stdout


def test_debug_adds_the_traceback_of_a_broken_app(tmp_path: Path) -> None:
    make_app(tmp_path, agent_py="raise RuntimeError('boom')\n")
    result = trio_adk("run", "--debug", "my_app", "hi", cwd=tmp_path, url="http://127.0.0.1:9")

    assert 1 == result.returncode
    assert "Traceback" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("trio-adk: error: App 'my_app' failed")


def test_a_folder_without_root_agent_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "empty_app").mkdir()
    (tmp_path / "empty_app" / "__init__.py").write_text("")
    result = trio_adk("run", "empty_app", "hi", cwd=tmp_path, url="http://127.0.0.1:9")

    assert 1 == result.returncode
    [line] = result.stderr.splitlines()
    assert line.startswith("trio-adk: error: App 'empty_app' defines no root_agent")


@pytest.mark.parametrize(("args", "message"), [
    (["--state", "{not json", "my_app", "hi"], "--state is not valid JSON"),
    (["--state", "[1]", "my_app", "hi"], "--state must be a JSON object"),
    (["--timeout", "soon", "my_app", "hi"], "'soon' is not a duration"),
    (["--no_use_local_storage", "--session_service_uri", "memory://", "my_app", "hi"],
     "cannot be used with --session_service_uri"),
    (["no_such_dir", "hi"], "'no_such_dir' does not exist"),
])
def test_bad_usage_says_what_is_wrong(tmp_path: Path, args: list[str], message: str) -> None:
    make_app(tmp_path)
    result = trio_adk("run", *args, cwd=tmp_path, url="http://127.0.0.1:9")

    assert 2 == result.returncode
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_service_scheme_is_one_line(tmp_path: Path) -> None:
    make_app(tmp_path)
    result = trio_adk("run", "--session_service_uri", "nosuch://x", "my_app", "hi",
                      cwd=tmp_path, url="http://127.0.0.1:9")

    assert 1 == result.returncode
    [line] = result.stderr.splitlines()
    assert line.startswith("trio-adk: error: cannot set up the app's services: ")
    assert "No session service for the URI scheme nosuch://" in line


def test_a_model_error_is_one_line(tmp_path: Path) -> None:
    make_app(tmp_path)
    with closing(socket.socket()) as sock:  # bound, never listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        result = trio_adk("run", "--in_memory", "my_app", "hi", cwd=tmp_path, url=url)

    assert 1 == result.returncode
    assert (f"trio-adk: error: cannot reach the model server at {url}: connection refused (is "
            "the server running?). Check GOOGLE_GEMINI_BASE_URL.") == result.stderr.splitlines(
    )[-1]


# -- deadlines and signals -------------------------------------------------------------------


@contextmanager
def silent_server() -> Iterator[socket.socket]:
    """A loopback server that accepts connections and never answers."""
    with closing(socket.create_server(("127.0.0.1", 0))) as server:
        server.settimeout(TIMEOUT)
        yield server


def wait_for_request_head(connection: socket.socket) -> None:
    connection.settimeout(TIMEOUT)
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = connection.recv(65536)
        assert chunk, f"the client hung up after {head!r}"
        head += chunk


@pytest.mark.slow
def test_a_turn_past_its_deadline_is_cancelled(tmp_path: Path) -> None:
    """--timeout bounds each turn: the model never answers, the run is cancelled, one line
    says so, status 1."""
    make_app(tmp_path)
    with silent_server() as server:
        url = f"http://127.0.0.1:{server.getsockname()[1]}"
        result = trio_adk("run", "--in_memory", "--timeout", "1s", "my_app", "hi",
                          cwd=tmp_path, url=url)

    assert 1 == result.returncode
    assert ("trio-adk: error: the agent did not finish within 1s (--timeout)."
            == result.stderr.splitlines()[-1])
    assert "" == result.stdout


@pytest.mark.slow
def test_the_loop_goes_on_after_a_turn_times_out(tmp_path: Path) -> None:
    make_app(tmp_path)
    with silent_server() as server:
        url = f"http://127.0.0.1:{server.getsockname()[1]}"
        result = trio_adk("run", "--in_memory", "--timeout", "1", "my_app", cwd=tmp_path,
                          url=url, stdin="hi\nexit\n")

    assert 1 == result.returncode
    assert result.stdout.endswith("[user]: [user]: ")  # asked again after the timeout
    assert "did not finish within 1 (--timeout)" in result.stderr


@needs_posix_signals
@pytest.mark.parametrize(("signum", "status", "message"), [
    (signal.SIGINT, 130, "Interrupted."), (signal.SIGTERM, 143, "Terminated.")],
    ids=["SIGINT", "SIGTERM"])
def test_a_signal_mid_turn_cancels_it_cleanly(tmp_path: Path, signum: int, status: int,
                                              message: str) -> None:
    make_app(tmp_path)
    with silent_server() as server:
        url = f"http://127.0.0.1:{server.getsockname()[1]}"
        process = subprocess.Popen(
            [sys.executable, "-m", "trio_adk", "run", "--in_memory", "my_app", "hi"],
            cwd=tmp_path, env=env(GOOGLE_GEMINI_BASE_URL=url, GOOGLE_API_KEY="k"),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            connection, _ = server.accept()
            with closing(connection):
                wait_for_request_head(connection)  # the turn is in flight now
                process.send_signal(signum)
                out, err = process.communicate(timeout=TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate(timeout=TIMEOUT)

    assert status == process.returncode, err
    assert message == err.splitlines()[-1]
    assert "Traceback" not in out + err


@needs_posix_signals
def test_ctrl_c_at_the_prompt_ends_cleanly(tmp_path: Path) -> None:
    """Ctrl-C while the loop waits for a line: status 130, no traceback."""
    make_app(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "trio_adk", "run", "--in_memory", "my_app"], cwd=tmp_path,
        env=env(GOOGLE_GEMINI_BASE_URL="http://127.0.0.1:9", GOOGLE_API_KEY="k"),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()  # the loop is running once the banner is out
        assert "Running agent root_agent, type exit to exit.\n" == banner
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=TIMEOUT)

    assert 130 == process.returncode, err
    assert "Interrupted." == err.strip()
    assert "Traceback" not in out + err


# -- google-adk 2.13 itself ------------------------------------------------------------------

_ADK_ENV = "TRIO_ADK_GOOGLE_ADK_PYTHON"


@pytest.mark.slow
def test_the_same_output_as_adk_run(tmp_path: Path) -> None:
    """The same app (its import line aside) under ``adk run`` and ``trio-adk run``: the same
    lines in the loop and with a query, the same keys in --jsonl events."""
    adk_python = os.environ.get(_ADK_ENV)
    if not adk_python or not Path(adk_python).exists():
        pytest.skip(f"set {_ADK_ENV} to a python with google-adk 2.13 installed")
    make_app(tmp_path / "ours")
    make_app(tmp_path / "theirs", agent_py=AGENT_PY.replace(
        "from trio_adk import Agent", "from google.adk.agents.llm_agent import Agent"))

    def both(*args: str, stdin: str = "") -> list[subprocess.CompletedProcess[str]]:
        results = []
        for where, python, module in (("ours", sys.executable, "trio_adk"),
                                      ("theirs", adk_python, "google.adk.cli")):
            with serve_in_thread(FakeGeminiServer()) as url:
                results.append(subprocess.run(
                    [python, "-m", module, "run", "--in_memory", *args], cwd=tmp_path / where,
                    input=stdin, env=env(GOOGLE_GEMINI_BASE_URL=url, GOOGLE_API_KEY="k"),
                    capture_output=True, text=True, timeout=TIMEOUT))
        # adk run first says where its log file is; the rest is the conversation.
        theirs = results[1]
        theirs.stdout = "".join(line for line in theirs.stdout.splitlines(keepends=True)
                                if not line.startswith(("Log setup complete:", "To access ")))
        return results

    ours, theirs = both("my_app", stdin="hello\n\nagain\nexit\n")
    assert theirs.stdout == ours.stdout
    ours, theirs = both("my_app", "hi")
    assert theirs.stdout == ours.stdout
    ours, theirs = both("--jsonl", "my_app", "hi")
    our_event, their_event = json.loads(ours.stdout), json.loads(theirs.stdout)
    assert their_event["content"] == our_event["content"]
    assert list(their_event)[:2] == list(our_event)[:2]
    assert set(our_event) <= set(their_event)
