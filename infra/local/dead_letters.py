"""CloudWatch is not emulated, so the local runtime watches the dead-letter queues itself and says what AWS would.

Every queue that an alarm of the template watches for visible messages (the Operations construct gives each DLQ
one) is checked every few seconds; when it holds more messages than last reported, one line goes to the log
naming the queue, the alarm that would fire in AWS and the command that redrives it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from infra.local.template import Template

log = logging.getLogger("familynet.local")
CHECK_EVERY_SECONDS = 2.0
DLQ_METRIC = "ApproximateNumberOfMessagesVisible"


@dataclass(frozen=True)
class WatchedQueue:
    logical_id: str
    url: str
    alarm: str

    @property
    def name(self) -> str:
        return self.url.rsplit("/", 1)[1]


def watched_queues(template: Template, queue_urls: dict[str, str]) -> list[WatchedQueue]:
    """The queues the template's alarms watch for visible messages, with each one's alarm name."""
    found = []
    for _logical_id, alarm in template.of_type("AWS::CloudWatch::Alarm"):
        if alarm.get("MetricName") != DLQ_METRIC:
            continue
        for dimension in alarm.get("Dimensions", []):
            target = dimension["Value"].get("Fn::GetAtt", [None])[0] if isinstance(dimension["Value"], dict) else None
            if dimension["Name"] == "QueueName" and target in queue_urls:
                found.append(WatchedQueue(target, queue_urls[target], str(alarm.get("AlarmName", _logical_id))))
    return found


class DeadLetterWatch(threading.Thread):
    def __init__(self, queues: list[WatchedQueue], sqs: Any, stop: threading.Event) -> None:
        super().__init__(name="dead-letter-watch", daemon=True)
        self.queues = queues
        self.sqs = sqs
        self._stop_event = stop
        self.reported: dict[str, int] = {}

    def check(self) -> list[str]:
        """One look at every watched queue; returns (and logs) the lines for those that grew since last reported."""
        lines = []
        for queue in self.queues:
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=queue.url, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]
            count = int(attributes.get("ApproximateNumberOfMessages", 0))
            if count > self.reported.get(queue.name, 0):
                line = (
                    f"dead-letter queue {queue.name} holds {count} message(s): in AWS the alarm {queue.alarm} "
                    f"would fire. Fix the cause, then: make redrive QUEUE={queue.name}"
                )
                log.warning(line)
                lines.append(line)
            self.reported[queue.name] = count
        return lines

    def run(self) -> None:
        while not self._stop_event.wait(CHECK_EVERY_SECONDS):
            try:
                self.check()
            except Exception:  # moto stopping, or a queue deleted by hand: the next look tries again
                log.debug("could not check the dead-letter queues", exc_info=True)
