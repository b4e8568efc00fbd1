"""BaseCredentialService: where exchanged credentials are kept between runs."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trio_adk.agents._callback_context import CallbackContext
    from trio_adk.auth._types import AuthConfig, AuthCredential

from trio_adk._bridges._anywhere import wrap_coroutine_methods


class BaseCredentialService(abc.ABC):
    """Loads and saves credentials for the app and user of the calling context.

    Experimental in ADK, kept for API compatibility.  Methods are coroutines awaited
    from trio tasks on the trio thread that runs the runner; implementations that block
    (secret stores) must do so in ``trio.to_thread.run_sync``, never on the event loop.
    """

    _ANYWHERE = ("load_credential", "save_credential")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Overrides stay awaitable from asyncio code too (run in the trio guest).
        wrap_coroutine_methods(cls, cls._ANYWHERE)

    @abc.abstractmethod
    async def load_credential(
        self, auth_config: AuthConfig, callback_context: CallbackContext
    ) -> AuthCredential | None:
        """Return the stored credential for ``auth_config.credential_key``, or None."""

    @abc.abstractmethod
    async def save_credential(
        self, auth_config: AuthConfig, callback_context: CallbackContext
    ) -> None:
        """Store ``auth_config.exchanged_auth_credential`` under its ``credential_key``."""


wrap_coroutine_methods(BaseCredentialService, BaseCredentialService._ANYWHERE)
