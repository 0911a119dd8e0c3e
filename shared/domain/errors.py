"""Domain errors: each carries a message a person can act on, never a stack trace."""

from __future__ import annotations


class FamilynetError(Exception):
    """Base of every error the domain raises on purpose."""


class ServiceUnavailable(FamilynetError):
    """A dependency (DynamoDB, EventBridge) failed in a way a retry may fix."""


class ConfigurationError(FamilynetError):
    """The deployment is misconfigured (a missing table, a wrong bus name): operations must act."""


class PublishFailed(ServiceUnavailable):
    """EventBridge refused some entries; the caller retries them."""
