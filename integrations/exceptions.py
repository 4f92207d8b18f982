"""Domain errors of the integrations app; each edge (form, API, SCIM) translates them once."""


class IntegrationError(Exception):
    """Base class of the errors below."""


class ApiKeyNotRevocable(IntegrationError):
    """The key is already revoked or expired."""
