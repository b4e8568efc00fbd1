"""ADK's path for the service registry: services from URIs (``sqlite:///x.db``, ...)."""

from trio_adk._service_registry import ServiceRegistry as ServiceRegistry
from trio_adk._service_registry import get_service_registry as get_service_registry

__all__ = ["ServiceRegistry", "get_service_registry"]
