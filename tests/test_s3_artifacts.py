"""S3ArtifactService against a real S3 API server (moto's server mode) on loopback, and
our SigV4 signer against AWS's published examples."""

from __future__ import annotations

import importlib.util
import itertools
import logging
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import trio
from google.genai import types

from trio_adk.artifacts import ArtifactVersion, S3ArtifactService
from trio_adk.artifacts._sigv4 import EMPTY_SHA256, Credentials, sign
from trio_adk.errors import StorageError

APP, USER, SESSION = "app", "u1", "s1"
KEY_ID = "AKIDTRIOADKTEST"
SECRET = "trio-adk-test-secret/DO+NOT+LEAK"

# ------------------------------------------------------------------ SigV4 vectors

# From AWS's Signature Version 4 test suite ("get-vanilla", "get-vanilla-query-order-key",
# "post-vanilla") and the S3 "GET object" example of the S3 API reference.
_SUITE = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
_SUITE_TIME = datetime(2015, 8, 30, 12, 36, tzinfo=UTC)


@pytest.mark.parametrize(("method", "query", "signature"), [
    ("GET", {}, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    ("GET", {"Param2": "value2", "Param1": "value1"},
     "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
    ("POST", {}, "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
])
def test_sigv4_test_suite_vectors(method: str, query: dict[str, str], signature: str) -> None:
    added = sign(method=method, path="/", query=query,
                 headers={"Host": "example.amazonaws.com"}, payload_sha256=EMPTY_SHA256,
                 credentials=_SUITE, region="us-east-1", service="service", now=_SUITE_TIME)
    assert added["x-amz-date"] == "20150830T123600Z"
    assert added["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        f"SignedHeaders=host;x-amz-date, Signature={signature}")


def test_sigv4_s3_get_object_example() -> None:
    creds = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    added = sign(method="GET", path="/test.txt", query={},
                 headers={"Host": "examplebucket.s3.amazonaws.com", "Range": "bytes=0-9",
                          "x-amz-content-sha256": EMPTY_SHA256},
                 payload_sha256=EMPTY_SHA256, credentials=creds, region="us-east-1",
                 service="s3", now=datetime(2013, 5, 24, tzinfo=UTC))
    assert added["authorization"].endswith(
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")


def test_credentials_repr_hides_the_secret() -> None:
    assert "EXAMPLEKEY" not in repr(_SUITE)


# ------------------------------------------------------------------ moto server

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    if importlib.util.find_spec("moto") is None or importlib.util.find_spec("flask") is None:
        pytest.skip("moto[server] is not installed (pip install -e '.[test]'): the S3 "
                    "tests need its S3 API server")
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60  # start-up wait, not an assertion on speed
        while True:
            if server.poll() is not None:
                pytest.fail(f"moto server exited with {server.returncode}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("moto server did not accept connections within 60 s")
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.kill()
        server.wait()


_buckets = itertools.count()


@pytest.fixture
async def svc(s3_endpoint: str) -> S3ArtifactService:
    service = S3ArtifactService(f"bucket-{next(_buckets)}", endpoint_url=s3_endpoint,
                                access_key_id=KEY_ID, secret_access_key=SECRET,
                                page_size=2)
    await service.create_bucket()
    return service


def _text(text: str) -> types.Part:
    return types.Part(text=text)


def _blob(data: bytes, mime: str = "image/png", name: str | None = None) -> types.Part:
    return types.Part(inline_data=types.Blob(data=data, mime_type=mime, display_name=name))


async def _save(svc: S3ArtifactService, filename: str, part: types.Part,
                session_id: str = SESSION, **kw: object) -> int:
    return await svc.save_artifact(app_name=APP, user_id=USER, session_id=session_id,
                                   filename=filename, artifact=part, **kw)  # type: ignore[arg-type]


async def _load(svc: S3ArtifactService, filename: str, version: int | None = None,
                session_id: str = SESSION) -> types.Part | None:
    return await svc.load_artifact(app_name=APP, user_id=USER, session_id=session_id,
                                   filename=filename, version=version)


async def test_round_trip_versions_scopes_and_paginated_listing(svc: S3ArtifactService) -> None:
    assert await _load(svc, "none.txt") is None
    for i in range(5):  # page_size=2: listings take several pages
        assert await _save(svc, "doc/report.txt", _text(f"v{i} é")) == i
    assert await _save(svc, "doc/report.txt/inner", _text("nested")) == 0
    assert await _save(svc, "user:pic.png", _blob(b"\x00\xff" * 1000, name="Pïc")) == 0
    assert await _save(svc, "raw", types.Part(inline_data=types.Blob(data=b"z"))) == 0
    assert await _load(svc, "doc/report.txt") == _text("v4 é")
    assert await _load(svc, "doc/report.txt", 1) == _text("v1 é")
    assert await _load(svc, "doc/report.txt", -5) == _text("v0 é")
    assert await _load(svc, "doc/report.txt", 9) is None
    assert await _load(svc, "user:pic.png", session_id="s2") == _blob(b"\x00\xff" * 1000,
                                                                     name="Pïc")
    assert await _load(svc, "raw") == types.Part(inline_data=types.Blob(
        data=b"z", mime_type="application/octet-stream"))
    assert await svc.list_versions(app_name=APP, user_id=USER, session_id=SESSION,
                                   filename="doc/report.txt") == [0, 1, 2, 3, 4]
    assert await svc.list_artifact_keys(app_name=APP, user_id=USER, session_id=SESSION) == [
        "doc/report.txt", "doc/report.txt/inner", "raw", "user:pic.png"]
    assert await svc.list_artifact_keys(app_name=APP, user_id=USER, session_id="s2") == [
        "user:pic.png"]
    await svc.delete_artifact(app_name=APP, user_id=USER, session_id=SESSION,
                              filename="doc/report.txt")
    assert await _load(svc, "doc/report.txt") is None
    assert await _load(svc, "doc/report.txt/inner") == _text("nested")


async def test_gcs_key_layout_and_metadata(svc: S3ArtifactService) -> None:
    await _save(svc, "a.txt", _text("hi"), custom_metadata={"k": [1, "é"], "n": None})
    await _save(svc, "user:b.bin", _blob(b"B"))
    async with svc._client() as client:
        keys = await svc._keys(client, "")
    assert sorted(keys) == ["app/u1/s1/a.txt/0", "app/u1/user/user:b.bin/0"]
    info = await svc.get_artifact_version(app_name=APP, user_id=USER, session_id=SESSION,
                                          filename="a.txt")
    assert isinstance(info, ArtifactVersion)
    assert info.canonical_uri == f"s3://{svc.bucket}/app/u1/s1/a.txt/0"
    assert (info.version, info.mime_type) == (0, None)
    assert info.custom_metadata == {"k": [1, "é"], "n": None}
    listed = await svc.list_artifact_versions(app_name=APP, user_id=USER, session_id=SESSION,
                                              filename="user:b.bin")
    assert [(v.version, v.mime_type, v.custom_metadata) for v in listed] == [
        (0, "image/png", {})]


async def test_prefix_keeps_keys_apart(s3_endpoint: str) -> None:
    svc = S3ArtifactService("prefixed", endpoint_url=s3_endpoint, prefix="team/a",
                            access_key_id=KEY_ID, secret_access_key=SECRET)
    await svc.create_bucket()
    await _save(svc, "f", _text("x"))
    async with svc._client() as client:
        assert await svc._keys(client, "") == ["team/a/app/u1/s1/f/0"]


async def test_bad_input_is_rejected_before_any_request(svc: S3ArtifactService) -> None:
    for filename in ("../x", "a//b", "user:", "/abs", "a\\b"):
        with pytest.raises(ValueError, match="filename"):
            await _save(svc, filename, _text("x"))
    with pytest.raises(ValueError, match="reserved"):
        await _save(svc, "f", _text("x"), session_id="user")
    with pytest.raises(ValueError, match="2048"):
        await _save(svc, "f", _text("x"), custom_metadata={"big": "x" * 3000})
    with pytest.raises(ValueError, match="neither inline_data nor text"):
        await _save(svc, "f", types.Part())
    assert await svc.list_artifact_keys(app_name=APP, user_id=USER, session_id=SESSION) == []
    with pytest.raises(ValueError, match="bucket"):
        S3ArtifactService("Bad_Bucket", access_key_id="a", secret_access_key="b")
    with pytest.raises(ValueError, match="endpoint_url"):
        S3ArtifactService("ok-bucket", endpoint_url="ftp://x", access_key_id="a",
                          secret_access_key="b")


def test_credentials_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match="AWS_ACCESS_KEY_ID"):
        S3ArtifactService("some-bucket")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    svc = S3ArtifactService("some-bucket")
    assert svc.region == "eu-west-3"
    assert svc.endpoint_url == "https://some-bucket.s3.eu-west-3.amazonaws.com"
    assert SECRET not in repr(svc) and SECRET not in repr(vars(svc))


async def test_errors_are_typed_and_never_show_the_secret(
        s3_endpoint: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    missing = S3ArtifactService("no-such-bucket", endpoint_url=s3_endpoint,
                                access_key_id=KEY_ID, secret_access_key=SECRET)
    with pytest.raises(StorageError, match="NoSuchBucket") as caught:
        await _save(missing, "f", _text("x"))
    port = _free_port()  # nothing listens there
    unreachable = S3ArtifactService("b-b-b", endpoint_url=f"http://127.0.0.1:{port}",
                                    access_key_id=KEY_ID, secret_access_key=SECRET)
    with pytest.raises(StorageError, match="ConnectError") as caught2:
        await _load(unreachable, "f")
    svc = S3ArtifactService("logged", endpoint_url=s3_endpoint, access_key_id=KEY_ID,
                            secret_access_key=SECRET)
    await svc.create_bucket()
    await _save(svc, "f", _text("x"))
    assert await _load(svc, "f") == _text("x")
    seen = [repr(svc), repr(missing), str(caught.value), repr(caught.value),
            str(caught2.value), caplog.text]
    seen += [repr(record.__dict__) for record in caplog.records]
    assert caplog.records  # the requests were logged at DEBUG
    for text in seen:
        assert SECRET not in text
        assert "DO+NOT+LEAK" not in text


async def test_cancelled_save_stores_whole_version_or_none(svc: S3ArtifactService) -> None:
    data = bytes(8 << 20)
    with trio.CancelScope() as scope:
        scope.cancel()
        await _save(svc, "big", _blob(data, "application/x-big"))
    assert await _load(svc, "big") is None
    async with trio.open_nursery() as nursery:
        inner = trio.CancelScope()

        async def save() -> None:
            with inner:
                await _save(svc, "big", _blob(data, "application/x-big"))

        nursery.start_soon(save)
        await trio.sleep(0)
        inner.cancel()
    versions = await svc.list_versions(app_name=APP, user_id=USER, session_id=SESSION,
                                       filename="big")
    assert versions in ([], [0])
    if versions:
        assert await _load(svc, "big") == _blob(data, "application/x-big")


def test_one_service_from_two_trio_runs(s3_endpoint: str) -> None:
    """One service used from several trio runs in turn (sync callers do this)."""
    svc = S3ArtifactService("several-runs", endpoint_url=s3_endpoint,
                            access_key_id=KEY_ID, secret_access_key=SECRET)
    trio.run(svc.create_bucket)

    def run(tag: str) -> list[int]:
        async def main() -> list[int]:
            return [await _save(svc, "shared", _text(f"{tag}{i}")) for i in range(3)]
        return trio.run(main)

    assert run("a") == [0, 1, 2]
    assert run("b") == [3, 4, 5]


async def test_concurrent_saves_get_distinct_versions(svc: S3ArtifactService) -> None:
    """Saves racing for one number: create-only PUTs make the losers take the next."""
    results: list[int] = []

    async def save(i: int) -> None:
        results.append(await _save(svc, "raced", _text(f"v{i}")))

    async with trio.open_nursery() as nursery:
        for i in range(4):
            nursery.start_soon(save, i)
    assert sorted(results) == [0, 1, 2, 3]
    texts = {(await _load(svc, "raced", v)).text for v in range(4)}  # type: ignore[union-attr]
    assert texts == {"v0", "v1", "v2", "v3"}
