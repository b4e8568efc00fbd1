"""A stream wrapper that replays bytes already read before handing a connection on."""

from __future__ import annotations

import trio


class ReplayStream(trio.abc.Stream):
    """Serve ``prefix`` from ``receive_some`` first, then read from the wrapped stream.

    Used to give trio-websocket a connection whose HTTP upgrade request h11 has already parsed:
    the request head is replayed so wsproto can run the opening handshake itself. Sending,
    closing and cancellation behave exactly as on the wrapped stream.
    """

    def __init__(self, stream: trio.abc.Stream, prefix: bytes) -> None:
        self._stream = stream
        self._prefix = prefix

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        """The next replayed bytes, else bytes from the wrapped stream (``b""`` at EOF)."""
        if self._prefix:
            await trio.lowlevel.checkpoint()
            size = len(self._prefix) if max_bytes is None else max_bytes
            data, self._prefix = self._prefix[:size], self._prefix[size:]
            return data
        return await self._stream.receive_some(max_bytes)

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        """Send on the wrapped stream."""
        await self._stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        """Delegate to the wrapped stream."""
        await self._stream.wait_send_all_might_not_block()

    async def aclose(self) -> None:
        """Close the wrapped stream (immediate, also when cancelled)."""
        self._prefix = b""
        await self._stream.aclose()
