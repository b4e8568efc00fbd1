"""Run the fake Gemini server from the command line.

``python -m trio_adk.testing.fake_gemini --port 8765 [--host 127.0.0.1]`` serves the built-in
responder (echo, and calls a declared tool the user names) over REST, SSE and Live on one port,
prints the base URL as the first line of stdout, and runs until Ctrl-C (or SIGTERM). Point
clients at it with ``GOOGLE_GEMINI_BASE_URL=<that URL>`` and any ``GOOGLE_API_KEY``.

``--tls-ca PATH`` serves ``https://``/``wss://`` instead, with a throwaway certificate for
127.0.0.1 and localhost issued by a throwaway authority whose certificate goes to ``PATH``;
clients trust it with ``SSL_CERT_FILE=PATH`` (the google-genai client, and so google-adk, only
speaks Live over ``wss://``). Needs the ``trustme`` package (in the ``test`` and ``bench``
extras).
"""

from __future__ import annotations

import argparse
import functools
import signal
import ssl
import sys
from collections.abc import Sequence
from pathlib import Path

import trio

from trio_adk.testing._fake_gemini._server import FakeGeminiServer as FakeGeminiServer


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m trio_adk.testing.fake_gemini",
        description="A fake Gemini API server (REST, SSE and Live) for tests and demos.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    parser.add_argument("--port", type=int, default=8765,
                        help="TCP port, 0 for any free port (default %(default)s)")
    parser.add_argument("--require-api-key", metavar="KEY", default=None,
                        help="refuse requests that do not carry this API key")
    parser.add_argument("--echo-audio", action="store_true",
                        help="Live: send every realtime audio chunk straight back as model "
                             "audio (for latency measurements)")
    parser.add_argument("--tls-ca", metavar="PATH", type=Path, default=None,
                        help="serve TLS with a throwaway self-signed certificate and write its "
                             "authority's certificate to PATH (trust it with SSL_CERT_FILE=PATH)")
    return parser


def self_signed_context(ca_path: Path) -> ssl.SSLContext:
    """A server TLS context with a fresh throwaway certificate for ``127.0.0.1`` and
    ``localhost``; the certificate of the (equally throwaway) authority that issued it is
    written to ``ca_path`` in PEM, for clients to trust. Raises :class:`RuntimeError` when
    ``trustme`` is not installed. Blocking (file I/O): call it before trio starts or from a
    worker thread.
    """
    try:
        import trustme
    except ImportError as exc:
        raise RuntimeError("--tls-ca needs the trustme package: pip install trustme "
                           "(it comes with the test and bench extras)") from exc
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    authority.cert_pem.write_to_path(str(ca_path))
    return context


async def serve(host: str, port: int, *, require_api_key: str | None = None,
                echo_audio: bool = False, ssl_context: ssl.SSLContext | None = None) -> None:
    """Serve the built-in responder until cancelled; print the base URL once listening.

    ``echo_audio``: Live sessions echo every realtime audio chunk as model audio and answer
    text turns with ``"You said: ..."`` (a :class:`LiveConversation` with no scripted turns).
    ``ssl_context``: serve TLS with it (see :func:`self_signed_context`).
    Runs in the calling trio task (any thread running trio); cancellation closes every
    connection before it returns.
    """
    live = None
    if echo_audio:
        from trio_adk.testing._fake_gemini._live import LiveScript
        from trio_adk.testing._fake_gemini._live_script import LiveConversation

        live = LiveScript(handler=LiveConversation(echo_audio=True,
                                                   resumption_updates=False))
    async with FakeGeminiServer(host=host, port=port, require_api_key=require_api_key,
                                live=live, ssl_context=ssl_context) as server:
        print(server.base_url, flush=True)
        print(f"fake Gemini: REST + SSE + Live on {server.base_url}, Live at "
              f"{server.live_url()}; Ctrl-C stops", file=sys.stderr, flush=True)
        await trio.sleep_forever()


async def _serve_until_signalled(host: str, port: int, require_api_key: str | None,
                                 echo_audio: bool, ssl_context: ssl.SSLContext | None) -> None:
    # Catch SIGINT/SIGTERM as messages: a KeyboardInterrupt raised inside a connection task
    # would otherwise surface as an exception group instead of a clean exit.
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(functools.partial(serve, host, port,
                                                 require_api_key=require_api_key,
                                                 echo_audio=echo_audio,
                                                 ssl_context=ssl_context))
            async for _ in signals:
                nursery.cancel_scope.cancel()
                break


def main(argv: Sequence[str] | None = None) -> int:
    """The command-line entry point (main thread only); returns 0 after Ctrl-C or SIGTERM."""
    args = _parser().parse_args(argv)
    context = None if args.tls_ca is None else self_signed_context(args.tls_ca)
    trio.run(_serve_until_signalled, args.host, args.port, args.require_api_key,
             args.echo_audio, context)
    return 0


if __name__ == "__main__":
    sys.exit(main())
