"""InMemoryCredentialService: credentials kept in process memory."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from trio_adk.auth._base import BaseCredentialService

if TYPE_CHECKING:
    from trio_adk.agents._callback_context import CallbackContext
    from trio_adk.auth._types import AuthConfig, AuthCredential


class InMemoryCredentialService(BaseCredentialService):
    """Keeps credentials per app and user, keyed by ``auth_config.credential_key``.

    The app and user come from the callback context's invocation.  Saving stores a
    copy of ``auth_config.exchanged_auth_credential`` (replacing an earlier one under
    the same key); loading returns a copy, so callers cannot change what is stored.
    Meant for tests and prototypes; nothing survives the process.

    Threads and cancellation: call the methods from the trio thread that runs the
    runner (not thread-safe).  Neither suspends, so a cancelled call either completed
    or did not start.
    """

    def __init__(self) -> None:
        # app_name -> user_id -> credential_key -> credential
        self._credentials: dict[str, dict[str, dict[str, AuthCredential | None]]] = {}

    async def load_credential(
        self, auth_config: AuthConfig, callback_context: CallbackContext
    ) -> AuthCredential | None:
        """Return a copy of the credential saved for this app, user and key, or None.

        Does not suspend.
        """
        ctx = callback_context._invocation_context
        stored = (
            self._credentials.get(ctx.app_name, {})
            .get(ctx.user_id, {})
            .get(auth_config.credential_key)
        )
        return copy.deepcopy(stored)

    async def save_credential(
        self, auth_config: AuthConfig, callback_context: CallbackContext
    ) -> None:
        """Store a copy of ``auth_config.exchanged_auth_credential`` for this app and user.

        Does not suspend.
        """
        ctx = callback_context._invocation_context
        bucket = self._credentials.setdefault(ctx.app_name, {}).setdefault(ctx.user_id, {})
        bucket[auth_config.credential_key] = copy.deepcopy(auth_config.exchanged_auth_credential)
