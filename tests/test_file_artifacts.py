"""FileArtifactService: ADK's on-disk layout, atomic saves, path rules, real faults."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import trio
from google.genai import types

from trio_adk.artifacts import ArtifactVersion, BaseArtifactService, FileArtifactService
from trio_adk.errors import StorageError

APP, USER, SESSION = "app", "u1", "s1"


def _svc(tmp_path: Path) -> FileArtifactService:
    return FileArtifactService(tmp_path / "root")


def _text(text: str) -> types.Part:
    return types.Part(text=text)


def _blob(data: bytes, mime: str = "image/png", name: str | None = None) -> types.Part:
    return types.Part(inline_data=types.Blob(data=data, mime_type=mime, display_name=name))


async def _save(svc: FileArtifactService, filename: str, part: types.Part,
                session_id: str = SESSION, **kw: object) -> int:
    return await svc.save_artifact(app_name=APP, user_id=USER, session_id=session_id,
                                   filename=filename, artifact=part, **kw)  # type: ignore[arg-type]


async def _load(svc: FileArtifactService, filename: str, version: int | None = None,
                session_id: str = SESSION) -> types.Part | None:
    return await svc.load_artifact(app_name=APP, user_id=USER, session_id=session_id,
                                   filename=filename, version=version)


def _tree(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_exported_at_adk_path() -> None:
    from trio_adk.artifacts.file_artifact_service import FileArtifactService as Same

    assert Same is FileArtifactService
    assert issubclass(FileArtifactService, BaseArtifactService)
    assert repr(FileArtifactService("/x/y")) == "FileArtifactService('/x/y')"


async def test_round_trip_versions_scopes_and_listing(tmp_path: Path) -> None:
    svc = _svc(tmp_path)
    assert await _load(svc, "none.txt") is None
    assert await _save(svc, "doc/report.txt", _text("v0 é")) == 0
    assert await _save(svc, "doc/report.txt", _text("v1")) == 1
    assert await _save(svc, "user:pic.png", _blob(b"\x00\xff", name="Pic")) == 0
    assert await _save(svc, "empty.txt", _text("")) == 0
    assert await _load(svc, "doc/report.txt") == _text("v1")
    assert await _load(svc, "doc/report.txt", 0) == _text("v0 é")
    assert await _load(svc, "doc/report.txt", -2) == _text("v0 é")
    assert await _load(svc, "doc/report.txt", 5) is None
    assert await _load(svc, "empty.txt") == _text("")
    # user: files are shared by the user's sessions; session files are not.
    assert await _load(svc, "user:pic.png", session_id="s2") == _blob(b"\x00\xff", name="Pic")
    assert await _load(svc, "doc/report.txt", session_id="s2") is None
    assert await svc.list_artifact_keys(app_name=APP, user_id=USER, session_id=SESSION) == [
        "doc/report.txt", "empty.txt", "user:pic.png"]
    assert await svc.list_artifact_keys(app_name=APP, user_id=USER, session_id="s2") == [
        "user:pic.png"]
    assert await svc.list_versions(app_name=APP, user_id=USER, session_id=SESSION,
                                   filename="doc/report.txt") == [0, 1]


async def test_layout_and_metadata_are_adks(tmp_path: Path) -> None:
    svc = _svc(tmp_path)
    await _save(svc, "doc/r.txt", _text("hi"))
    await _save(svc, "user:img.png", _blob(b"PNG", name="Pic"), custom_metadata={"k": [1, "x"]})
    await _save(svc, "raw", types.Part(inline_data=types.Blob(data=b"z")))
    root = tmp_path / "root"
    session = "apps/app/users/u1/sessions/s1/artifacts"
    user = "apps/app/users/u1/artifacts"
    assert _tree(root) == sorted([
        f"{session}/doc/r.txt/versions/0/r.txt",
        f"{session}/doc/r.txt/versions/0/metadata.json",
        f"{session}/raw/versions/0/raw",
        f"{session}/raw/versions/0/metadata.json",
        f"{user}/img.png/versions/0/img.png",
        f"{user}/img.png/versions/0/metadata.json",
    ])
    text_meta = json.loads((root / session / "doc/r.txt/versions/0/metadata.json").read_text())
    assert list(text_meta) == ["version", "canonicalUri", "customMetadata", "createTime",
                               "fileName"]  # no mimeType: a text part
    assert text_meta["fileName"] == "doc/r.txt"
    assert text_meta["canonicalUri"] == (
        root / session / "doc/r.txt/versions/0/r.txt").resolve().as_uri()
    img_meta = json.loads((root / user / "img.png/versions/0/metadata.json").read_text())
    assert img_meta["mimeType"] == "image/png"
    assert img_meta["fileName"] == "user:img.png"
    assert img_meta["displayName"] == "Pic"
    assert img_meta["customMetadata"] == {"k": [1, "x"]}
    raw_meta = json.loads((root / session / "raw/versions/0/metadata.json").read_text())
    assert raw_meta["mimeType"] == "application/octet-stream"
    assert (root / user / "img.png/versions/0/img.png").read_bytes() == b"PNG"

    info = await svc.get_artifact_version(app_name=APP, user_id=USER, session_id=SESSION,
                                          filename="user:img.png")
    assert isinstance(info, ArtifactVersion)
    assert (info.version, info.mime_type, info.custom_metadata) == (0, "image/png",
                                                                    {"k": [1, "x"]})
    assert info.create_time == img_meta["createTime"]
    listed = await svc.list_artifact_versions(app_name=APP, user_id=USER, session_id=SESSION,
                                              filename="doc/r.txt")
    assert [(v.version, v.mime_type) for v in listed] == [(0, None)]


async def test_delete_keeps_nested_files_and_prunes_empty_dirs(tmp_path: Path) -> None:
    svc = _svc(tmp_path)
    await _save(svc, "doc", _text("outer"))
    await _save(svc, "doc/inner", _text("inner"))
    await _save(svc, "a/b/c", _text("deep"))
    await svc.delete_artifact(app_name=APP, user_id=USER, session_id=SESSION, filename="doc")
    await svc.delete_artifact(app_name=APP, user_id=USER, session_id=SESSION, filename="a/b/c")
    await svc.delete_artifact(app_name=APP, user_id=USER, session_id=SESSION, filename="gone")
    assert await _load(svc, "doc") is None
    assert await _load(svc, "doc/inner") == _text("inner")
    assert await svc.list_artifact_keys(app_name=APP, user_id=USER, session_id=SESSION) == [
        "doc/inner"]
    scope = tmp_path / "root/apps/app/users/u1/sessions/s1/artifacts"
    assert sorted(p.name for p in scope.iterdir()) == ["doc"]
    # Versions start again at 0 after a delete.
    assert await _save(svc, "doc", _text("again")) == 0


async def test_rewind_marker_loads_as_absent(tmp_path: Path) -> None:
    """ADK hides an artifact on rewind by saving an empty octet-stream version."""
    svc = _svc(tmp_path)
    await _save(svc, "f", _text("x"))
    await _save(svc, "f", types.Part(inline_data=types.Blob(
        data=b"", mime_type="application/octet-stream")))
    assert await _load(svc, "f") is None
    assert await _load(svc, "f", 0) == _text("x")


BAD_FILENAMES = [
    "../x", "a/../../x", "..", "/etc/passwd", "user:../../x", "user:/abs", "user:",
    "a\\b", "..\\..\\x", "C:x", "c:/x", "a//b", "./c", "x/", " x", "x ", "a/ b",
    "versions/a", "a/Versions/b", "a/metadata.json", "METADATA.JSON",
    "metadata.json.", "x" * 256, "a\x00b", "a\nb",
]


@pytest.mark.parametrize("filename", BAD_FILENAMES)
async def test_bad_filenames_are_rejected_before_any_io(tmp_path: Path, filename: str) -> None:
    svc = _svc(tmp_path)
    for call in (
        lambda: _save(svc, filename, _text("x")),
        lambda: _load(svc, filename),
        lambda: svc.delete_artifact(app_name=APP, user_id=USER, session_id=SESSION,
                                    filename=filename),
        lambda: svc.list_versions(app_name=APP, user_id=USER, session_id=SESSION,
                                  filename=filename),
    ):
        with pytest.raises(ValueError, match="filename"):
            await call()
    assert list(tmp_path.iterdir()) == []  # not even the root was created


@pytest.mark.parametrize(("field", "value"), [
    ("app_name", "a/b"), ("app_name", ".."), ("user_id", "../x"), ("user_id", "a\\b"),
    ("session_id", "."), ("session_id", "s/../../x"),
])
async def test_ids_that_are_not_one_segment_are_rejected(tmp_path: Path, field: str,
                                                         value: str) -> None:
    svc = _svc(tmp_path)
    args = {"app_name": APP, "user_id": USER, "session_id": SESSION, field: value}
    with pytest.raises(ValueError, match=field):
        await svc.save_artifact(filename="f", artifact=_text("x"), **args)
    with pytest.raises(ValueError, match=field):
        await svc.list_artifact_keys(**args)
    assert list(tmp_path.iterdir()) == []


async def test_bad_parts_and_metadata_are_rejected(tmp_path: Path) -> None:
    svc = _svc(tmp_path)
    with pytest.raises(ValueError, match="neither inline_data nor text"):
        await _save(svc, "f", types.Part(file_data=types.FileData(file_uri="gs://b/o")))
    with pytest.raises(ValueError, match="without data"):
        await _save(svc, "f", types.Part(inline_data=types.Blob(mime_type="image/png")))
    with pytest.raises(ValueError, match="finite"):
        await _save(svc, "f", _text("x"), custom_metadata={"n": float("nan")})
    with pytest.raises(TypeError, match="custom_metadata"):
        await _save(svc, "f", _text("x"), custom_metadata=["not", "a", "dict"])
    assert list(tmp_path.iterdir()) == []


def _make_read_only(path: Path) -> None:
    if os.geteuid() != 0:
        path.chmod(0o555)
        return
    # root ignores permission bits; the immutable attribute stops it too.
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot make a directory read-only as root here: {done.stderr!r}")


def _make_writable(path: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(path)], capture_output=True, check=False)
    path.chmod(0o755)


async def test_read_only_directory_gives_storage_error_and_no_version(tmp_path: Path) -> None:
    if shutil.which("chattr") is None and os.geteuid() == 0:
        pytest.skip("running as root without chattr: cannot make a directory read-only")
    svc = _svc(tmp_path)
    await _save(svc, "f.bin", _blob(b"first"))
    versions = tmp_path / "root/apps/app/users/u1/sessions/s1/artifacts/f.bin/versions"
    _make_read_only(versions)
    try:
        with pytest.raises(StorageError, match="could not save") as caught:
            await _save(svc, "f.bin", _blob(b"second"))
        assert isinstance(caught.value.__cause__, OSError)
        assert await svc.list_versions(app_name=APP, user_id=USER, session_id=SESSION,
                                       filename="f.bin") == [0]
        assert sorted(p.name for p in versions.iterdir()) == ["0"]
        assert await _load(svc, "f.bin") == _blob(b"first")
    finally:
        _make_writable(versions)


async def test_cancelled_save_is_all_or_nothing(tmp_path: Path) -> None:
    """Cancel a large save once its staging directory exists: afterwards either no
    version is visible, or the whole version is (if the rename won the race), and no
    staging directory is left."""
    svc = _svc(tmp_path)
    data = bytes(64 << 20)
    versions = tmp_path / "root/apps/app/users/u1/sessions/s1/artifacts/big/versions"
    saved: list[int] = []
    cancelled = False
    async with trio.open_nursery() as nursery:
        scope = trio.CancelScope()

        async def save() -> None:
            with scope:
                saved.append(await _save(svc, "big", _blob(data, "application/x-big")))

        nursery.start_soon(save)
        while not (versions.is_dir() and any(versions.iterdir())):
            await trio.sleep(0.001)
        scope.cancel()
    cancelled = scope.cancelled_caught
    assert not [p.name for p in versions.iterdir() if p.name.startswith(".")]
    if saved:  # the rename happened first: the version is complete
        assert await _load(svc, "big") == _blob(data, "application/x-big")
    else:
        assert cancelled
        assert await svc.list_versions(app_name=APP, user_id=USER, session_id=SESSION,
                                       filename="big") == []
        assert await _load(svc, "big") is None
    assert await _save(svc, "big", _text("next")) in (0, 1)


async def test_save_cancelled_before_it_starts_stores_nothing(tmp_path: Path) -> None:
    svc = _svc(tmp_path)
    with trio.CancelScope() as scope:
        scope.cancel()
        await _save(svc, "f", _text("x"))
    assert scope.cancelled_caught
    assert await _load(svc, "f") is None


def test_one_service_from_several_trio_runs_at_once(tmp_path: Path) -> None:
    """Two threads, each with its own trio run, save to one file: versions are unique."""
    svc = _svc(tmp_path)
    results: list[int] = []
    errors: list[BaseException] = []

    def worker(tag: str) -> None:
        async def main() -> None:
            for i in range(10):
                results.append(await _save(svc, "shared", _text(f"{tag}{i}")))
        try:
            trio.run(main)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(results) == list(range(20))


# --------------------------------------------------------------- google-adk 2.13 itself

_ADK_ENV = "TRIO_ADK_GOOGLE_ADK_PYTHON"

_ADK_SCRIPT = r"""
import asyncio, base64, json, sys
from google.adk.artifacts.file_artifact_service import FileArtifactService
from google.genai import types

root, mode = sys.argv[1], sys.argv[2]
svc = FileArtifactService(root)
A = dict(app_name="app", user_id="u1", session_id="s1")

async def main():
    out = {}
    if mode == "write":
        await svc.save_artifact(**A, filename="notes/a.txt", artifact=types.Part(text="één"))
        await svc.save_artifact(**A, filename="notes/a.txt", artifact=types.Part(text="two"))
        await svc.save_artifact(**A, filename="user:img.png", custom_metadata={"k": {"n": 1}},
            artifact=types.Part(inline_data=types.Blob(data=bytes(range(256)),
                                mime_type="image/png", display_name="Pic")))
    out["keys"] = await svc.list_artifact_keys(**A)
    out["files"] = {}
    for name in out["keys"]:
        versions = await svc.list_versions(**A, filename=name)
        for v in versions:
            part = await svc.load_artifact(**A, filename=name, version=v)
            info = await svc.get_artifact_version(**A, filename=name, version=v)
            out["files"][f"{name}@{v}"] = {
                "text": part.text,
                "data": base64.b64encode(part.inline_data.data).decode()
                        if part.inline_data else None,
                "mime": part.inline_data.mime_type if part.inline_data else None,
                "display": part.inline_data.display_name if part.inline_data else None,
                "custom": info.custom_metadata, "info_mime": info.mime_type,
            }
    print(json.dumps(out))

asyncio.run(main())
"""


def _adk_python() -> str:
    python = os.environ.get(_ADK_ENV)
    if not python:
        pytest.skip(f"set {_ADK_ENV} to a python with google-adk 2.13 installed to run "
                    "the compatibility tests")
    if not Path(python).exists():
        pytest.skip(f"{_ADK_ENV}={python!r} does not exist")
    return python


@pytest.fixture
def adk_python() -> str:
    """The google-adk interpreter (a sync fixture, so a skip keeps its reason)."""
    return _adk_python()


def _run_adk(python: str, root: Path, mode: str) -> dict[str, object]:
    done = subprocess.run([python, "-c", _ADK_SCRIPT, str(root), mode],
                          capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


async def _ours(svc: FileArtifactService) -> dict[str, object]:
    keys = await svc.list_artifact_keys(app_name=APP, user_id=USER, session_id=SESSION)
    files: dict[str, object] = {}
    for name in keys:
        for v in await svc.list_versions(app_name=APP, user_id=USER, session_id=SESSION,
                                         filename=name):
            part = await _load(svc, name, v)
            assert part is not None
            info = await svc.get_artifact_version(app_name=APP, user_id=USER,
                                                  session_id=SESSION, filename=name, version=v)
            assert info is not None
            blob = part.inline_data
            files[f"{name}@{v}"] = {
                "text": part.text,
                "data": base64.b64encode(blob.data).decode() if blob and blob.data else None,
                "mime": blob.mime_type if blob else None,
                "display": blob.display_name if blob else None,
                "custom": info.custom_metadata, "info_mime": info.mime_type,
            }
    return {"keys": keys, "files": files}


async def _write_ours(svc: FileArtifactService) -> None:
    await _save(svc, "notes/a.txt", _text("één"))
    await _save(svc, "notes/a.txt", _text("two"))
    await _save(svc, "user:img.png", _blob(bytes(range(256)), name="Pic"),
                custom_metadata={"k": {"n": 1}})


async def test_google_adk_writes_and_we_read(tmp_path: Path, adk_python: str) -> None:
    python = adk_python
    root = tmp_path / "root"
    adk_view = await trio.to_thread.run_sync(_run_adk, python, root, "write")
    ours = await _ours(FileArtifactService(root))
    assert ours == adk_view
    assert ours["keys"] == ["notes/a.txt", "user:img.png"]


async def test_we_write_and_google_adk_reads(tmp_path: Path, adk_python: str) -> None:
    python = adk_python
    root = tmp_path / "root"
    svc = FileArtifactService(root)
    await _write_ours(svc)
    adk_view = await trio.to_thread.run_sync(_run_adk, python, root, "read")
    assert adk_view == await _ours(svc)
    files = adk_view["files"]
    assert isinstance(files, dict)
    assert files["user:img.png@0"]["data"] == base64.b64encode(bytes(range(256))).decode()
    assert files["notes/a.txt@0"]["text"] == "één"


def test_adk_python_is_not_guessed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the variable the compatibility tests skip rather than guess a path."""
    monkeypatch.delenv(_ADK_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match=_ADK_ENV):
        _adk_python()
    assert sys.executable  # the suite's own interpreter is never used for ADK
