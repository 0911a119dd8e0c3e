"""Faults on demand (infra/local/faults.py): a FAULTS value read or refused in words, and moto's server failing the
functions' calls as AWS fails them (botocore reads each answer as the real error), never the runtime's own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from infra.local.faults import FaultPlan, Faults, FaultSpecError, activate


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("dynamo.throttle=0.1", "'dynamo.throttle' is not a fault"),
        ("dynamodb.throttle=1.5", "the share must be from 0 to 1"),
        ("dynamodb.throttle=lots", "the share must be from 0 to 1"),
        ("events.fail", "has no value"),
        ("ses.reject:FN-1=0.1", "ses.reject takes no target"),
        ("dynamodb.throttle:TransactWrites=0.1", "'TransactWrites' is not a DynamoDB operation"),
        ("dynamodb.throttle:TransactWriteItems/Upsert/EMAIL=0.1", "is not a DynamoDB operation"),
        ("seed=-1", "is not a whole number"),
        ("ses.throttle=0.1,ses.throttle=0.2", "ses.throttle is given twice"),
    ],
)
def test_a_fault_spec_that_cannot_be_read_is_refused_saying_how_to_write_one(spec: str, words: str) -> None:
    with pytest.raises(FaultSpecError, match="FAULTS: ") as refused:
        FaultPlan.parse(spec)
    assert words in str(refused.value)


def test_a_fault_spec_is_read_with_targets_overriding_the_general_share() -> None:
    plan = FaultPlan.parse(
        "dynamodb.throttle=5%, dynamodb.throttle:TransactWriteItems=.3,lambda.timeout:relay=0.1,seed=3"
    )
    assert plan.seed == 3
    assert (plan.share("dynamodb.throttle", "GetItem"), plan.share("dynamodb.throttle", "TransactWriteItems")) == (
        0.05,
        0.3,
    )
    assert plan.share("lambda.timeout", "EventRelayFunction1464B419") == 0.1
    assert plan.share("lambda.timeout", "FeedbackFunction96457E94") == 0.0
    with pytest.raises(FaultSpecError, match="names no function"):
        plan.check_functions(["FeedbackFunction96457E94"])


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    from infra.local.moto_server import MotoServer

    server = MotoServer().start()
    try:
        yield server.endpoint_url
    finally:
        activate(None)
        server.stop()


def client(url: str, service: str, function: str | None = None, attempts: int = 1) -> Any:
    """A client as the runtime makes them (function None) or as a function's worker does (app/fn-<name>)."""
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=url,
        region_name="eu-west-2",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(
            user_agent_appid=f"fn-{function}" if function else None,  # type: ignore[call-arg]  # missing from stubs
            retries={"mode": "standard", "total_max_attempts": attempts},
        ),
    )


def test_dynamodb_throttles_the_functions_calls_only_and_counts_what_it_hit(moto_url: str) -> None:
    faults = Faults.from_text("dynamodb.throttle=1,dynamodb.throttle:PutItem/REFERRAL=0")
    activate(faults)
    runtime = client(moto_url, "dynamodb")
    runtime.create_table(
        TableName="throttled",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    function = client(moto_url, "dynamodb", "Feedback", attempts=2)
    with pytest.raises(ClientError) as throttled:
        function.get_item(TableName="throttled", Key={"pk": {"S": "a"}})
    assert throttled.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    item = {"pk": {"S": "REFERRAL#FN-1"}, "sk": {"S": "EMAIL#e1#acknowledgement#x"}}
    with pytest.raises(ClientError) as cancelled:
        function.transact_write_items(TransactItems=[{"Put": {"TableName": "throttled", "Item": item}}])
    assert cancelled.value.response["Error"]["Code"] == "ThrottlingException"
    assert "Item" not in runtime.get_item(TableName="throttled", Key={"pk": {"S": "a"}})  # the runtime's call: never
    function.put_item(TableName="throttled", Item={"pk": {"S": "REFERRAL#FN-1"}, "sk": {"S": "REFERRAL"}})  # aimed: 0
    described = faults.describe()
    assert described["injected"]["dynamodb.throttle"] == {"GetItem": 2, "TransactWriteItems Put EMAIL": 2}
    assert described["sdk_gave_up"]["dynamodb.throttle"] == {"GetItem": 1, "TransactWriteItems Put EMAIL": 1}
    assert any("dynamodb.throttle: 4 of 5" in line for line in faults.summary())


def test_put_events_fails_single_entries_and_delivers_the_others(moto_url: str) -> None:
    faults = Faults.from_text("events.fail=0.5,seed=5")
    activate(faults)
    sqs, events = client(moto_url, "sqs"), client(moto_url, "events")
    queue = sqs.create_queue(QueueName="delivered")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all", EventPattern=json.dumps({"source": ["familynet"]}))
    events.put_targets(Rule="all", Targets=[{"Id": "q", "Arn": arn}])
    relay = client(moto_url, "events", "EventRelay")
    entries = [{"Source": "familynet", "DetailType": f"Event{n}", "Detail": json.dumps({"n": n})} for n in range(10)]
    answer = relay.put_events(Entries=entries)
    failed = [n for n, entry in enumerate(answer["Entries"]) if "ErrorCode" in entry]
    assert 0 < answer["FailedEntryCount"] == len(failed) < 10
    assert {answer["Entries"][n]["ErrorCode"] for n in failed} <= {"ThrottlingException", "InternalFailure"}
    assert all("EventId" in entry for n, entry in enumerate(answer["Entries"]) if n not in failed)
    received = []
    while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        received += [json.loads(m["Body"])["detail"]["n"] for m in batch]
        sqs.delete_message_batch(
            QueueUrl=queue, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
        )
    assert sorted(received) == [n for n in range(10) if n not in failed]
    assert sum(faults.describe()["injected"]["events.fail"].values()) == len(failed)


def test_ses_sends_are_throttled_or_rejected_with_the_errors_ses_gives(moto_url: str) -> None:
    faults = Faults.from_text("ses.throttle=1")
    activate(faults)
    client(moto_url, "sesv2").create_email_identity(EmailIdentity="familynet.example.org")
    feedback = client(moto_url, "sesv2", "Feedback")
    send = {
        "FromEmailAddress": "noreply@familynet.example.org",
        "Destination": {"ToAddresses": ["someone@council.example.org"]},
        "Content": {"Simple": {"Subject": {"Data": "Referral FN-1 received"}, "Body": {"Text": {"Data": "."}}}},
        "EmailTags": [{"Name": "reference", "Value": "FN-1"}, {"Name": "email", "Value": "e1--acknowledgement--ab"}],
    }
    with pytest.raises(ClientError) as throttled:
        feedback.send_email(**send)
    assert throttled.value.response["Error"]["Code"] == "TooManyRequestsException"
    faults.replace(FaultPlan.parse("ses.reject=1"))
    with pytest.raises(ClientError) as rejected:
        feedback.send_email(**send)
    assert rejected.value.response["Error"]["Code"] == "MessageRejected"
    described = faults.describe()
    assert described["rejected_emails"] == [{"reference": "FN-1", "event_id": "e1", "template": "acknowledgement"}]
    assert described["injected"]["ses.reject"] == {"acknowledgement": 1}
    faults.replace(FaultPlan.parse(""))
    assert feedback.send_email(**send)["MessageId"]
