"""Auth: credentials for tools, and the services that keep them between runs."""

from trio_adk.auth._base import BaseCredentialService as BaseCredentialService
from trio_adk.auth._in_memory import InMemoryCredentialService as InMemoryCredentialService
from trio_adk.auth._types import AuthConfig as AuthConfig
from trio_adk.auth._types import AuthCredential as AuthCredential

__all__ = [
    "AuthConfig",
    "AuthCredential",
    "BaseCredentialService",
    "InMemoryCredentialService",
]
