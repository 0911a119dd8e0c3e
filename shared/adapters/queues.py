"""The one SQS call a consumer makes itself (Lambda's event source mapping receives and deletes its messages): make
messages it left unhandled visible again sooner than the queue's visibility timeout (ChangeMessageVisibility, which
the mapping's grant already allows), with its failures as domain errors."""

from __future__ import annotations

from functools import cache

from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters import aws
from shared.domain.errors import ServiceUnavailable


@cache
def _queue_url(queue_arn: str) -> str:
    """arn:aws:sqs:<region>:<account>:<name> → the queue's URL (asked once per execution environment)."""
    _arn, _aws, _sqs, _region, account, name = queue_arn.split(":", 5)
    return str(aws.sqs().get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])


def visible_again_in(messages: list[tuple[str, str]], seconds: int) -> int:
    """Each (queue ARN, receipt handle) visible again after `seconds`; how many were changed (one call each: a
    batch leaves at most nine)."""
    changed = 0
    try:
        for queue_arn, handle in messages:
            aws.sqs().change_message_visibility(
                QueueUrl=_queue_url(queue_arn), ReceiptHandle=handle, VisibilityTimeout=seconds
            )
            changed += 1
    except (ClientError, BotoCoreError, ValueError) as exc:
        raise ServiceUnavailable(f"SQS failed: {type(exc).__name__}") from exc
    return changed
