"""Secrets Manager: the deployment's link key, read through Powertools' parameters (cached for five minutes, so a
rotation takes effect soon), on this package's own client (standard retries; the tests' permission guard sees it)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from shared.adapters import aws
from shared.domain.errors import ConfigurationError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

KEY_CACHE_SECONDS = 300


@cache
def _provider() -> SecretsProvider:
    # deferred: only the functions that sign or check links pay for importing the parameters utility
    from aws_lambda_powertools.utilities.parameters import SecretsProvider  # noqa: PLC0415

    return SecretsProvider(boto3_client=aws.secretsmanager())


def forget_link_keys() -> None:
    """Read the key again on next use (a test's fresh function, or a benchmark's cold start)."""
    _provider.cache_clear()


def link_key(secret_arn: str) -> bytes:
    """The secret's text as bytes; ConfigurationError when it cannot be read (operations must act)."""
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError  # noqa: PLC0415 - as above

    try:
        secret = _provider().get(secret_arn, max_age=KEY_CACHE_SECONDS)
    except GetParameterError as exc:
        # Powertools raises GetParameterError without `from`: the client's own error is the context
        cause = exc.__cause__ or exc.__context__
        raise ConfigurationError(f"The link key cannot be read ({type(cause or exc).__name__})") from exc
    return secret if isinstance(secret, bytes) else str(secret).encode()
