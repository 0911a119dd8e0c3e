"""The context object Lambda passes to a handler, for functions run in-process."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from infra.local.template import LOCAL_ACCOUNT, LOCAL_REGION


@dataclass
class LocalLambdaContext:
    function_name: str
    memory_limit_in_mb: int = 128
    timeout_seconds: float = 3
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self.invoked_function_arn = f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT}:function:{self.function_name}"
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
