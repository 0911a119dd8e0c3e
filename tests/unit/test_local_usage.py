"""The usage meter (infra/local/usage.py) that bench/cost.py prices: DynamoDB's request units from the sizes of the
items a function's calls touch, as AWS bills them, and nothing for the runtime's own calls."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from infra.local.usage import Usage
from infra.local.usage import activate as meter
from tests.unit.test_local_faults import client


@pytest.fixture
def moto_url() -> Iterator[str]:
    from infra.local.moto_server import MotoServer

    server = MotoServer().start()
    try:
        yield server.endpoint_url
    finally:
        meter(None)
        server.stop()


def test_dynamodb_request_units_follow_item_sizes_transactions_indexes_and_consistency(moto_url: str) -> None:
    # Given a table with one index, metered
    runtime = client(moto_url, "dynamodb")
    runtime.create_table(
        TableName="metered",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "status", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_status",
                "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    usage = Usage()
    meter(usage)
    function = client(moto_url, "dynamodb", "Intake")
    big = {"pk": {"S": "P"}, "sk": {"S": "BIG"}, "text": {"S": "x" * 2500}}  # 2.5 KB, in no index
    indexed = {"pk": {"S": "P"}, "sk": {"S": "SMALL"}, "status": {"S": "received"}}

    # When a function writes them, one in a transaction, fails a condition, and reads them back
    function.put_item(TableName="metered", Item=big)  # 3 WRU
    function.transact_write_items(TransactItems=[{"Put": {"TableName": "metered", "Item": indexed}}])  # 2 + 1 index
    with pytest.raises(ClientError):  # a refused condition is still billed: 1 WRU
        function.put_item(TableName="metered", Item=indexed, ConditionExpression="attribute_not_exists(pk)")
    function.get_item(TableName="metered", Key={"pk": {"S": "P"}, "sk": {"S": "BIG"}})  # 0.5 RRU
    function.get_item(TableName="metered", Key={"pk": {"S": "P"}, "sk": {"S": "BIG"}}, ConsistentRead=True)  # 1
    function.query(  # both items, 2.5 KB together: one 4 KB unit, eventually consistent: 0.5 RRU
        TableName="metered", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "P"}}
    )
    runtime.get_item(TableName="metered", Key={"pk": {"S": "P"}, "sk": {"S": "BIG"}})  # the runtime's own: free

    # Then the units are AWS's
    described = usage.describe()
    assert described["dynamodb"] == {"read_units": {"Intake": 2.0}, "write_units": {"Intake": 7.0}}
    assert described["calls"]["Intake dynamodb.PutItem"] == 1  # the refused one is billed, not counted as a call
    assert sum(described["calls"].values()) == 5


def test_emails_events_and_invocations_are_counted_per_recipient_entry_and_millisecond(moto_url: str) -> None:
    usage = Usage()
    meter(usage)
    runtime_ses = client(moto_url, "sesv2")
    runtime_ses.create_email_identity(EmailIdentity="council.example.org")
    client(moto_url, "sesv2", "Feedback").send_email(
        FromEmailAddress="noreply@council.example.org",
        Destination={"ToAddresses": ["a@council.example.org", "b@council.example.org"]},
        Content={"Simple": {"Subject": {"Data": "Referral FN-1 received"}, "Body": {"Text": {"Data": "Thank you"}}}},
    )
    client(moto_url, "events", "Relay").put_events(
        Entries=[{"Source": "familynet", "DetailType": "ReferralReceived", "Detail": "{}"} for _ in range(3)]
    )
    usage.invoked("Feedback", 512, 0.1234)

    described = usage.describe()
    assert described["ses"]["emails"] == 2
    assert described["events"] == {"entries": 3}
    assert described["lambda"]["billed_ms"] == {"Feedback": 124}
    assert described["lambda"]["gb_seconds"] == {"Feedback": pytest.approx(0.124 * 0.5)}
