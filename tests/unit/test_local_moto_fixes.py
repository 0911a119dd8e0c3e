"""The local runtime's fixes to moto (infra/local/moto_isolation.py) still fit the moto installed, and keep what they
promise: transactions exact and O(what they touch), queries reading one partition, nothing retained for ever.

If a moto upgrade fails the fingerprint test: read the new source of each function named, check the fix still
holds (the behaviour tests here say what it must do), then update FINGERPRINTS."""

from __future__ import annotations

import copy
import gc
import hashlib
import inspect
import json
import threading
import tracemalloc
import weakref
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import moto
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from infra.local import moto_isolation
from infra.local.moto_isolation import TARGET_MOTO, isolate_dynamodb, speed_up_server, trim_streams

# sha256 of moto's own source of each function the fixes replace or wrap (moto 5.2.5).
FINGERPRINTS = {
    "BackendDict.__getitem__": "16766ef9c002fbc638ad4430253304ba623b59349063d0e7d1f7c89e9f186b5e",
    "BackendDict.reset": "3d511e2c8b710d852a53e063ff3518a09db6c935d82c79777dc91306ab7a6940",
    "BaseModel.__new__": "08cf0ef20e88029a2eb91949492ce3281001a34b98143db186239962ad379eec",
    "DomainDispatcherApplication.get_backend_for_host": "1f41972c1e4e660fbf4e4ddfeeed2fdff56dc105a8f8e1bf015640f710ef511a",  # noqa: E501
    "DynamoDBBackend.batch_get_item": "bf0438d0af99d65c032cb6bb653e494cf7237622188bbe3618fb1211b788bd5d",
    "DynamoDBBackend.batch_write_item": "30550d960a97149bcd8b9067edcdb9e369c4154cbaeffce5ec918949510ce056",
    "DynamoDBBackend.delete_item": "083a4bb1af18f6fd2feef40195a4c9c803da66cb2cacd14f87916c6e76930ea5",
    "DynamoDBBackend.get_item": "290b95c46b38bc5ac8079668e9c449bba9b6b26f4a2872d80ca262115023e189",
    "DynamoDBBackend.put_item": "f5d9a5042c77b89e5f4c88b5884f7966b9dccd95b8b04090ee9e07afc5eea675",
    "DynamoDBBackend.scan": "9b5227800f9a320c0ef714bc5105e1504f47773be265847590e965a878f2e108",
    "DynamoDBBackend.query": "b8f2b308cd13edb48bb59ab0321ec3f935605629acb1d1ed634ba9f2bbcb107e",
    "DynamoDBBackend.transact_write_items": "81db2cb7d94e39c90b3a2077e1f4bb41a449c558ef9b1b1e2910fdaa39978ad4",
    "DynamoDBBackend.update_item": "218984588dd689a5de81678ce11e6a40d05c91e7b6c21b44c4ed4122fe74aa9f",
    "DynamoDBStreamsBackend.__init__": "074dec7c828aa7e553031ff3e389876a5366a539fdbb77ccdf22af230a98bebd",
    "DynamoDBStreamsBackend.describe_stream": "c4a0d4e858cf5ed5b491a9b077f7c75920cf0e7787b30c42a1ebfdf1b7023f37",
    "DynamoDBStreamsBackend.get_records": "db8c6cb04430c08f76be9e6b3cc9317387643b4fee26f43071c5ac22e25d2b64",
    "DynamoDBStreamsBackend.get_shard_iterator": "a0be676df0bfc9ef0fdb546a45df0f1510de564d215dcafffbd144a8f04219ef",
    "Queue.add_message": "f27c9231c1f2043382bc1435c4dfbab7b645389df642f050d9dda477f6535c35",
    "Queue.approximate_number_of_messages": "d357a9506a56d2f8f9f364aa1e0a4739182106db6dbcede0e0699c00d1406eec",
    "Queue.approximate_number_of_messages_delayed": "c3c1dadb0c42ed5f8f5e1fddc8384de67db2df9a4055504f10903bd0b55e8d2f",
    "Queue.approximate_number_of_messages_not_visible": "5dbecc4dda174358d2aefa96e4b769def47fd6bb2c315241c451e8518c3fabab",  # noqa: E501
    "SQSBackend.is_message_valid_based_on_retention_period": "cca23b94a5f3af9d9c5af1c09ee5e615017bdf6bd032301cb321c06c7e595d4b",  # noqa: E501
    "SQSBackend.send_message": "bf161af09a9e6b860e3dd5d8f58ccc802623caa86883fab9b2ffb333f8f70330",
    "SQSBackend.send_message_batch": "0707ad219481c867546327a5e0f42421187e1706202c68f9d8e87be597d3417a",
    "StreamShard.add": "357dc6da267e5dd7d46e18ee25d14b232a98679677906a2f02e4d454d1f11e03",
    "Table.all_items": "c80d2ee3c896acd0cab6ca35aaeae3ab3fb65858933f8a3403d4e027c240f31d",
    "Table.put_item": "de23933013ef842639046c19bcf7e418bce0474d810f6719368be4cedce11d47",
    "Table.query": "002b4d00be6df07cf37f6cbe0132e5eb89455ae12a8e79b23db3fb492450f21e",
    "Item.__init__": "d9c12b62cb921831aab9b2eb22ac24fbd600689064a0219ae3ffbe057ae4be74",
    "LimitedSizeDict.__setitem__": "d979580fdbe14f79f3216564e1385c4b3485db82bc88193326c467a037331e81",
    "UpdateExpressionExecutor.execute": "f51a6ec13dc1031676f97baa352b3effe9396e597818f498855f91ba5dd9e15f",
    "Node.__init__": "73e3e0773294a2bfd242df71304525d49da5ef540d03b9b82455a292a125cd7d",
    "UpdateExpressionParser.make": "2c00ed96d6e191f243b449166e75bfb38f307b2e19405bc0981847061e0dbee3",
    "BaseJSONSerializer._serialize_type_map": "faa32d1fa9a8bfc9db0984b7973a5cc3297d35a2df33124748949b0908f6b6a9",
    "create_condition_expression_parser": "a667986752c086a5a6f0f24c794a591ea68e9b56785a706faa277d09b81161cd",
    "Queue.messages": "03a531dbcbcf9aee2e61c7254c08946a499f5c57f2447a8f2e534aa85b067dea",
    "Queue.delete_message": "fa6fd5b9bd2cafb4aaacd79da7fc656e513e1513197c2939ff002f9ebfd4be46",
    "camelcase_to_underscores": "084cdc5bab92db95a0ebd8d554c70b212a057d35825b08ca3b80b202d4965eb3",
    "method_names_from_class": "9dbac89d082b655fee902c450e69de9dbadf9699ad06411298494984b55138c3",
    "generate_private_key": "cdf2b67aac1401be485253470c133ba6b0be6479a3930db103ba9b991dd64bae",
    # What the fixes rely on without wrapping: the stream's numbering, and where moto keeps sent emails.
    "StreamShard.get": "fa7e9a0d7b438c2fbd4bcc8a04fecc79f70862760d1f176d3bc86775967e2d7e",
    "ShardIterator.__init__": "5842e50a95242ef84673613918b71c4a2a9c149d4baa10904b0c84034c4c793e",
    "BackendDict._create_account_specific_backend": "efcc193ee3ca333752f8d55b94e70a7f2cffd87da07bc1d6140265bf9231f8a6",
    "SESBackend.__init__": "d3c61eac07e0fd9298816eb9d11384b77b6d0132bdc9bcabe2fbfc354b585589",
    # moto's filter expressions are parsed through create_condition_expression_parser; a parse tells what it found.
    "get_filter_expression": "0bb9e2d345c7f17fe70bed6b07659499eb35cf8f7421ddc3b82c036508ca83aa",
    "ConditionExpressionParser.parse": "5c9b63c5f49ed5d5d644eb0ac7422fb3c2ac4bbd310374f4161686bc4e10c453",
    # How moto writes a string and a blob, which the item responses' fix writes as it does.
    "BaseJSONSerializer._serialize_type_string": "44954e02145012baee50de6592411c1376aad480ea3440a3b3ab6ce932bbf78d",
    "ResponseSerializer._serialize_type_blob": "acd7e746cf06090e20c6501be7d45563fdece62bc55ba2a12f840d2b3bc89ade",
    "ResponseSerializer._base64": "5a3642d8c2a14b24a90a2719ba8cc148cff6400b69faea1943c32d782df5a2fb",
    # How moto finds a table a request names (by name or ARN), as the undo log does.
    "DynamoDBBackend.get_table": "a738146035fc206b81e0659a004dcc62ae70eb356ef7c5ab771ba68bdd2d7ab0",
}


def _extra_sources() -> dict[str, Any]:
    from moto.core.base_backend import BackendDict
    from moto.core.serialize import BaseJSONSerializer, ResponseSerializer
    from moto.dynamodb.comparisons import ConditionExpressionParser, get_filter_expression
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import StreamShard
    from moto.dynamodbstreams.models import ShardIterator
    from moto.ses.models import SESBackend

    return {
        "get_filter_expression": get_filter_expression,
        "ConditionExpressionParser.parse": ConditionExpressionParser.parse,
        "BaseJSONSerializer._serialize_type_string": BaseJSONSerializer._serialize_type_string,
        "ResponseSerializer._serialize_type_blob": ResponseSerializer._serialize_type_blob,
        "ResponseSerializer._base64": ResponseSerializer._base64,
        "DynamoDBBackend.get_table": DynamoDBBackend.get_table,
        "BackendDict._create_account_specific_backend": BackendDict._create_account_specific_backend,
        "StreamShard.get": StreamShard.get,
        "ShardIterator.__init__": ShardIterator.__init__,
        "SESBackend.__init__": getattr(SESBackend.__init__, "__wrapped__", SESBackend.__init__),
    }


def _fingerprint(function: Any) -> str:
    return hashlib.sha256(inspect.getsource(inspect.unwrap(function)).encode()).hexdigest()


@pytest.fixture(autouse=True, scope="module")
def _fixed() -> None:
    isolate_dynamodb()
    speed_up_server()


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")  # moto knows no account-based stream endpoints
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-2")
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "status", "received")
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by_status",
                    "KeySchema": [
                        {"AttributeName": "status", "KeyType": "HASH"},
                        {"AttributeName": "received", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        yield client


def _put(pk: str, sk: str, **attributes: str) -> dict[str, Any]:
    item = {"pk": {"S": pk}, "sk": {"S": sk}, **{k: {"S": v} for k, v in attributes.items()}}
    return {"Put": {"TableName": "t", "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}


def _table() -> Any:
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends["123456789012"]["eu-west-2"].tables["t"]


def _everything(client: Any) -> list[dict[str, Any]]:
    return sorted(client.scan(TableName="t")["Items"], key=lambda i: (i["pk"]["S"], i["sk"]["S"]))


def test_the_fixes_target_the_installed_moto() -> None:
    assert moto.__version__.startswith(TARGET_MOTO + "."), f"moto {moto.__version__}: re-check moto_isolation.py"
    sources = {**moto_isolation._ORIGINALS, **_extra_sources()}
    changed = sorted(name for name, expected in FINGERPRINTS.items() if _fingerprint(sources[name]) != expected)
    assert not changed, f"moto's source changed under these fixes: {changed}: re-check them, then the fingerprints"
    assert sorted(moto_isolation._ORIGINALS) == sorted(set(FINGERPRINTS) - set(_extra_sources()))


def test_each_account_keeps_its_own_backends_and_a_reset_still_empties_them(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.core.base_backend import BackendDict
    from moto.sqs.models import sqs_backends

    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    with mock_aws():
        boto3.client("sqs", region_name="eu-west-2").create_queue(QueueName="mine")
        mine = sqs_backends["123456789012"]["eu-west-2"]
        assert sqs_backends["123456789012"]["eu-west-2"] is mine  # answered from the dict the second time
        assert list(sqs_backends["111122223333"]["eu-west-2"].queues) == []  # another account: made, empty
        assert list(mine.queues) == ["mine"]
        # listed for moto's reset (by identity: moto's own check compares dicts by value)
        assert any(known is sqs_backends for known in BackendDict._instances)  # type: ignore[misc]
    with mock_aws():
        assert list(sqs_backends["123456789012"]["eu-west-2"].queues) == []  # reset between the two
    for _ in range(2):  # SES v2's backend makes SES's again inside moto's reset: still reset the next time
        with mock_aws():
            sesv2 = boto3.client("sesv2", region_name="eu-west-2")
            assert sesv2.list_configuration_sets()["ConfigurationSets"] == []
            sesv2.create_configuration_set(ConfigurationSetName="emails")


def test_a_kms_key_s_private_key_is_made_only_when_something_uses_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.kms.models import kms_backends

    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    with mock_aws():
        kms = boto3.client("kms", region_name="eu-west-2")
        symmetric = kms.create_key(Description="the table's key")["KeyMetadata"]["KeyId"]
        signing = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec="RSA_2048")["KeyMetadata"]["KeyId"]
        keys: dict[str, Any] = kms_backends["123456789012"]["eu-west-2"].keys
        assert not keys[symmetric].private_key.made and not keys[signing].private_key.made
        sealed = kms.encrypt(KeyId=symmetric, Plaintext=b"secret")["CiphertextBlob"]
        assert kms.decrypt(CiphertextBlob=sealed)["Plaintext"] == b"secret"
        assert not keys[symmetric].private_key.made  # a symmetric key never needs one
        signed = kms.sign(KeyId=signing, Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256")["Signature"]
        verified = kms.verify(KeyId=signing, Message=b"m", Signature=signed, SigningAlgorithm="RSASSA_PSS_SHA_256")
        assert verified["SignatureValid"] and keys[signing].private_key.made
        assert len(kms.get_public_key(KeyId=signing)["PublicKey"]) > 256  # an RSA-2048 key's DER


def test_a_cancelled_transaction_leaves_items_and_stream_as_they_were(dynamodb: Any) -> None:
    dynamodb.transact_write_items(
        TransactItems=[_put("A", "1", status="new", received="1"), _put("A", "2"), _put("A", "3")]
    )
    stream_length = len(_table().stream_shard.items)
    before = _everything(dynamodb)

    with pytest.raises(ClientError, match="TransactionCanceled"):
        dynamodb.transact_write_items(
            TransactItems=[
                _put("B", "1", status="new", received="2"),  # a new item
                {
                    "Update": {  # a changed one
                        "TableName": "t",
                        "Key": {"pk": {"S": "A"}, "sk": {"S": "1"}},
                        "UpdateExpression": "SET #s = :s",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {":s": {"S": "closed"}},
                    }
                },
                {"Delete": {"TableName": "t", "Key": {"pk": {"S": "A"}, "sk": {"S": "2"}}}},  # a deleted one
                _put("A", "3"),  # and one that fails: the whole transaction is cancelled
            ]
        )

    assert _everything(dynamodb) == before
    assert len(_table().stream_shard.items) == stream_length  # no record of what never happened
    by_status = dynamodb.query(
        TableName="t",
        IndexName="by_status",
        KeyConditionExpression="#s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "new"}},
    )["Items"]
    assert [i["pk"]["S"] for i in by_status] == ["A"]


def test_a_transaction_copies_only_what_it_touches(dynamodb: Any) -> None:
    for start in range(0, 1000, 100):
        dynamodb.transact_write_items(TransactItems=[_put(f"P{n}", "x" * 200) for n in range(start, start + 100)])
    tracemalloc.start()
    try:
        dynamodb.transact_write_items(TransactItems=[_put("NEW", "1"), _put("NEW", "2")])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000  # a copy of the 1,000-item table (and its stream) is several times that


def test_queries_read_one_partition_and_an_index_follows_every_write(dynamodb: Any) -> None:
    items = [_put(f"R{n}", "referral", status="new", received=f"{n:03}") for n in range(30)]
    dynamodb.transact_write_items(TransactItems=items[:15])
    dynamodb.transact_write_items(TransactItems=items[15:])
    for n in range(0, 30, 3):  # some leave the index value "new" for another
        dynamodb.update_item(
            TableName="t",
            Key={"pk": {"S": f"R{n}"}, "sk": {"S": "referral"}},
            UpdateExpression="SET #s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": "accepted"}},
        )
    dynamodb.delete_item(TableName="t", Key={"pk": {"S": "R1"}, "sk": {"S": "referral"}})
    dynamodb.update_item(  # leaves the index altogether
        TableName="t",
        Key={"pk": {"S": "R2"}, "sk": {"S": "referral"}},
        UpdateExpression="REMOVE #s",
        ExpressionAttributeNames={"#s": "status"},
    )
    dynamodb.put_item(TableName="t", Item={"pk": {"S": "R99"}, "sk": {"S": "referral"}, "status": {"S": "new"}})

    def by_status(status: str) -> list[str]:
        answer = dynamodb.query(
            TableName="t",
            IndexName="by_status",
            KeyConditionExpression="#s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": status}},
        )
        return [i["pk"]["S"] for i in answer["Items"]]

    expected_new = [f"R{n}" for n in range(30) if n % 3 and n not in (1, 2)]  # R99 has no sort key value: not indexed
    assert by_status("new") == expected_new
    assert by_status("accepted") == [f"R{n}" for n in range(0, 30, 3)]
    partition = dynamodb.query(
        TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "R2"}}
    )["Items"]
    assert [i["sk"]["S"] for i in partition] == ["referral"]
    assert (
        dynamodb.query(
            TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "nobody"}}
        )["Items"]
        == []
    )


def test_items_are_answered_as_moto_itself_writes_them(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.core.serialize import BaseJSONSerializer

    every_kind = {
        "pk": {"S": "R1"},
        "sk": {"S": "referral"},
        "status": {"S": "new"},
        "received": {"S": "2026-12-03"},
        "text": {"S": 'Ünïcode "quoted" \\ and a new\nline'},
        "number": {"N": "12.50"},
        "blob": {"B": b"\x00\xffbytes"},
        "strings": {"SS": ["a", "b"]},
        "numbers": {"NS": ["1", "2.5"]},
        "blobs": {"BS": [b"\x01", b"\x02"]},
        "flag": {"BOOL": False},
        "nothing": {"NULL": True},
        "empty_map": {"M": {}},
        "empty_list": {"L": []},
        "nested": {"M": {"list": {"L": [{"S": "x"}, {"N": "1"}, {"M": {"b": {"B": b"z"}}}, {"NULL": True}]}}},
    }
    dynamodb.put_item(TableName="t", Item=every_kind)
    dynamodb.put_item(TableName="t", Item={"pk": {"S": "R1"}, "sk": {"S": "second"}, "status": {"S": "new"}})
    key = {"pk": {"S": "R1"}, "sk": {"S": "referral"}}
    answers: list[bytes] = []
    dynamodb.meta.events.register(
        "after-call.dynamodb", lambda http_response, **_: answers.append(http_response.content)
    )

    def ask() -> list[Any]:
        answers.clear()
        dynamodb.get_item(TableName="t", Key=key)
        dynamodb.query(TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "R1"}})
        dynamodb.query(  # an index's items, and the last key a page ends at
            TableName="t",
            IndexName="by_status",
            KeyConditionExpression="#s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": "new"}},
            Limit=1,
        )
        dynamodb.scan(TableName="t", Limit=1)
        dynamodb.batch_get_item(RequestItems={"t": {"Keys": [key]}})
        dynamodb.transact_get_items(TransactItems=[{"Get": {"TableName": "t", "Key": key}}])
        dynamodb.update_item(
            TableName="t",
            Key=key,
            UpdateExpression="SET #n = #n",
            ExpressionAttributeNames={"#n": "number"},
            ReturnValues="ALL_NEW",
        )
        return [json.loads(answer) for answer in answers]

    fixed = ask()
    monkeypatch.setattr(
        BaseJSONSerializer, "_serialize_type_map", moto_isolation._ORIGINALS["BaseJSONSerializer._serialize_type_map"]
    )
    assert fixed == ask()
    assert fixed[0]["Item"]["blob"] == {"B": "AP9ieXRlcw=="}  # base64 on the wire, as DynamoDB writes it


def _counting_sizes(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """From now on, how many times moto sizes an attribute value (`DynamoType.size`), under "size"."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    calls: Counter[str] = Counter()
    size = DynamoType.size

    def counted(value: Any) -> int:
        calls["size"] += 1
        return size(value)

    monkeypatch.setattr(DynamoType, "size", counted)
    return calls


def test_an_item_s_size_is_summed_once_and_still_limited(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    sized = _counting_sizes(monkeypatch)
    wide = {"pk": {"S": "W"}, "sk": {"S": "1"}, **{f"a{n}": {"M": {"x": {"S": "y" * 10}}} for n in range(200)}}
    dynamodb.transact_write_items(TransactItems=[{"Put": {"TableName": "t", "Item": wide}}])
    assert sized["size"] < 3_000  # moto summed the item for each attribute it set: ~40,000 (and again for each copy)
    assert dynamodb.get_item(TableName="t", Key={"pk": {"S": "W"}, "sk": {"S": "1"}})["Item"] == wide
    with pytest.raises(ClientError, match="Item size has exceeded the maximum allowed size"):
        dynamodb.put_item(
            TableName="t",
            Item={"pk": {"S": "W"}, "sk": {"S": "2"}, "a": {"S": "x" * 205_000}, "b": {"S": "x" * 205_000}},
        )
    copied = copy.deepcopy(_table().get_item(DynamoType({"S": "W"}), DynamoType({"S": "1"})))
    assert copied.attrs == _table().get_item(DynamoType({"S": "W"}), DynamoType({"S": "1"})).attrs
    copied.attrs["a0"] = DynamoType({"S": "changed"})  # a copy's attributes are its own, still size-checked
    assert _table().get_item(DynamoType({"S": "W"}), DynamoType({"S": "1"})).attrs["a0"] != copied.attrs["a0"]
    assert type(copied.attrs).__name__ == "LimitedSizeDict"


def test_an_update_sums_the_item_s_size_once_and_still_refuses_one_too_large(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    wide = {"pk": {"S": "U"}, "sk": {"S": "1"}, **{f"a{n}": {"S": "x" * 20} for n in range(100)}}
    dynamodb.put_item(TableName="t", Item=wide)
    sized = _counting_sizes(monkeypatch)
    four = "SET a1 = :v, a2 = :v, a3 = :v, a4 = :v"
    dynamodb.update_item(
        TableName="t",
        Key={"pk": {"S": "U"}, "sk": {"S": "1"}},
        UpdateExpression=four,
        ExpressionAttributeValues={":v": {"S": "set"}},
    )
    assert sized["size"] < 200  # moto summed the whole item before each of the four SETs: over 400
    got = dynamodb.get_item(TableName="t", Key={"pk": {"S": "U"}, "sk": {"S": "1"}})["Item"]
    assert got == {**wide, **{f"a{n}": {"S": "set"} for n in range(1, 5)}}
    big = {":a": {"S": "x" * 205_000}, ":b": {"S": "x" * 205_000}}
    request = {
        "TableName": "t",
        "Key": {"pk": {"S": "U"}, "sk": {"S": "1"}},
        "UpdateExpression": "SET big_a = :a, big_b = :b, a0 = :a",
        "ExpressionAttributeValues": big,
    }
    with pytest.raises(ClientError, match="Item size to update has exceeded the maximum allowed size"):
        dynamodb.update_item(**request)
    with pytest.raises(ClientError, match="Item size to update has exceeded"):  # moto: a ValidationException
        dynamodb.transact_write_items(TransactItems=[{"Update": request}])
    # refused, the item is as it was (moto left a refused update's earlier actions done)
    assert (
        dynamodb.get_item(TableName="t", Key={"pk": {"S": "U"}, "sk": {"S": "1"}}, ConsistentRead=True)["Item"] == got
    )
    # an update that fails half way (ADD to a string) changes nothing, and the next too large is still refused
    with pytest.raises(ClientError, match="An operand in the update expression has an incorrect data type"):
        dynamodb.update_item(
            TableName="t",
            Key={"pk": {"S": "U"}, "sk": {"S": "1"}},
            UpdateExpression="SET a1 = :v ADD a2 :one",
            ExpressionAttributeValues={":v": {"S": "half"}, ":one": {"N": "1"}},
        )
    with pytest.raises(ClientError, match="Item size to update has exceeded the maximum allowed size"):
        dynamodb.update_item(**request)
    assert (
        dynamodb.get_item(TableName="t", Key={"pk": {"S": "U"}, "sk": {"S": "1"}}, ConsistentRead=True)["Item"] == got
    )
    # too large for an item not there yet: no item made, no stream record
    records = len(_table().stream_shard.items)
    with pytest.raises(ClientError, match="Item size to update has exceeded the maximum allowed size"):
        dynamodb.update_item(**{**request, "Key": {"pk": {"S": "U"}, "sk": {"S": "new"}}})
    assert "Item" not in dynamodb.get_item(TableName="t", Key={"pk": {"S": "U"}, "sk": {"S": "new"}})
    assert len(_table().stream_shard.items) == records
    dynamodb.update_item(  # a small one passes
        TableName="t",
        Key={"pk": {"S": "U"}, "sk": {"S": "2"}},
        UpdateExpression="SET a = :v",
        ExpressionAttributeValues={":v": {"S": "small"}},
    )
    assert dynamodb.get_item(TableName="t", Key={"pk": {"S": "U"}, "sk": {"S": "2"}})["Item"]["a"] == {"S": "small"}


def test_a_parsed_expression_s_copy_is_whole_and_its_own() -> None:
    from moto.dynamodb.parsing import ast_nodes
    from moto.dynamodb.parsing.ast_nodes import Node  # type: ignore[attr-defined]
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

    # the copy copies a node's __dict__: it would be wrong for a node kept another way, or copied its own way
    kinds = [k for k in vars(ast_nodes).values() if isinstance(k, type) and issubclass(k, Node)]
    special = ("__slots__", "__getstate__", "__setstate__", "__reduce__", "__reduce_ex__", "__copy__")
    assert [(k.__name__, n) for k in kinds for n in special if n in vars(k)] == []
    assert [k.__name__ for k in kinds if "__deepcopy__" in vars(k) and k is not Node] == []
    parsed = UpdateExpressionParser.make("SET #a = :v, b = if_not_exists(b, :zero) + :one REMOVE c[2]")

    def shape(node: Any, seen: set[int]) -> Any:
        if isinstance(node, list):
            return [shape(item, seen) for item in node]
        if id(node) in seen:
            return "<seen>"
        if not hasattr(node, "__dict__"):
            return node
        seen.add(id(node))
        return (type(node).__name__, {k: shape(v, seen) for k, v in vars(node).items() if k != "parent"})

    def children(node: Any) -> Any:
        return [children(c) if hasattr(c, "children") else c for c in getattr(node, "children", None) or []]

    copied = copy.deepcopy(parsed)
    assert shape(copied, set()) == shape(parsed, set())
    assert copied is not parsed and copied.children[0] is not parsed.children[0]
    assert copied.children[0].parent is copied  # the copy's parents are the copy's own nodes
    copied.children.clear()
    assert children(parsed) != []


def test_an_update_expression_parsed_once_serves_every_item(dynamodb: Any) -> None:
    count = "SET #n = if_not_exists(#n, :zero) + :one, #k = :k"
    for n in range(6):
        dynamodb.update_item(
            TableName="t",
            Key={"pk": {"S": "COUNT"}, "sk": {"S": "odd" if n % 2 else "even"}},
            UpdateExpression=count,
            ExpressionAttributeNames={"#n": "count", "#k": "kind"},
            ExpressionAttributeValues={":zero": {"N": "0"}, ":one": {"N": str(n)}, ":k": {"S": f"k{n}"}},
        )
    even = dynamodb.get_item(TableName="t", Key={"pk": {"S": "COUNT"}, "sk": {"S": "even"}})["Item"]
    odd = dynamodb.get_item(TableName="t", Key={"pk": {"S": "COUNT"}, "sk": {"S": "odd"}})["Item"]
    assert (even["count"], even["kind"]) == ({"N": "6"}, {"S": "k4"})  # 0 + 2 + 4
    assert (odd["count"], odd["kind"]) == ({"N": "9"}, {"S": "k5"})  # 1 + 3 + 5
    with pytest.raises(ClientError, match="Invalid UpdateExpression"):  # a bad one is still refused, every time
        dynamodb.update_item(TableName="t", Key={"pk": {"S": "COUNT"}, "sk": {"S": "odd"}}, UpdateExpression="SET")


def test_a_remembered_condition_still_checks_its_values_and_the_names_it_uses(dynamodb: Any) -> None:
    def count_under(cap: int, **extra_names: str) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": "t",
                "Key": {"pk": {"S": "COUNT"}, "sk": {"S": "day"}},
                "UpdateExpression": "SET #n = if_not_exists(#n, :zero) + :one",
                "ConditionExpression": "attribute_not_exists(#n) OR #n < :cap",
                "ExpressionAttributeNames": {"#n": "count", **extra_names},
                "ExpressionAttributeValues": {":zero": {"N": "0"}, ":one": {"N": "1"}, ":cap": {"N": str(cap)}},
            }
        }

    for _ in range(2):  # the second is answered from what the first parsed, names and values found included
        dynamodb.transact_write_items(TransactItems=[count_under(2)])
    with pytest.raises(ClientError, match="TransactionCanceled"):  # the same condition, its cap reached
        dynamodb.transact_write_items(TransactItems=[count_under(2)])
    dynamodb.transact_write_items(TransactItems=[count_under(3)])  # another value: another result
    with pytest.raises(ClientError, match="unused in expressions"):  # a name the expressions do not use
        dynamodb.transact_write_items(TransactItems=[count_under(9, **{"#x": "other"})])
    item = dynamodb.get_item(TableName="t", Key={"pk": {"S": "COUNT"}, "sk": {"S": "day"}})["Item"]
    assert item["count"] == {"N": "3"}


def test_a_queue_answers_what_is_visible_now_and_retained(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.core import responses
    from moto.sqs.models import sqs_backends

    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    with mock_aws():
        sqs = boto3.client("sqs", region_name="eu-west-2")
        kept = sqs.create_queue(QueueName="kept", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
        sqs.send_message(QueueUrl=kept, MessageBody="old")
        [old] = sqs_backends["123456789012"]["eu-west-2"].queues["kept"]._messages
        old.sent_timestamp = int(old.sent_timestamp or 0) - 61_000  # type: ignore[assignment]  # past its retention
        assert sqs.receive_message(QueueUrl=kept).get("Messages", []) == []
        url = sqs.create_queue(QueueName="q")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=5)
        sqs.send_message(QueueUrl=url, MessageBody="now")
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)["Messages"]
        assert [m["Body"] for m in received] == ["now"]  # not the delayed one
        assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []) == []  # in flight
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=received[0]["ReceiptHandle"], VisibilityTimeout=0)
        assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ["now"]  # visible again
    assert responses.method_names_from_class.cache_info().hits > 0  # type: ignore[attr-defined]


def test_a_message_sent_while_another_is_deleted_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """An EventBridge target sends to a queue on one of the server's threads while its consumer deletes a batch on
    another. moto's delete walked the queue's list, then put a new list without the deleted message in its place: a
    message sent between the two was lost. Here the send comes at exactly that moment."""
    from moto.sqs.models import sqs_backends

    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    senders: list[threading.Thread] = []
    armed = False

    with mock_aws():
        backend = sqs_backends["123456789012"]["eu-west-2"]
        backend.create_queue("busy")

        class Walked(list):  # type: ignore[type-arg]
            """The queue's list: once a walk of it ends, another thread sends a message."""

            def __iter__(self) -> Iterator[Any]:
                yield from list.__iter__(self)
                if armed and not senders:
                    sender = threading.Thread(target=backend.send_message, args=("busy", "sent meanwhile"))
                    senders.append(sender)
                    sender.start()
                    sender.join(timeout=0.5)  # it waits for the delete to finish, if the delete holds the lock

        for n in range(3):
            backend.send_message("busy", f"backlog {n}")
        queue = backend.queues["busy"]
        queue._messages = Walked(queue._messages)
        [first] = backend.receive_message("busy", 1, 0, 30)
        armed = True
        backend.delete_message("busy", str(first.receipt_handle))
        assert senders, "the delete never walked the whole queue"
        senders[0].join()
        bodies = sorted(m.body for m in queue._messages)
        assert bodies == ["backlog 1", "backlog 2", "sent meanwhile"]  # moto lost "sent meanwhile"


def test_moto_keeps_no_model_instance_alive(dynamodb: Any) -> None:
    from moto.dynamodb.models.dynamo_type import Item

    dynamodb.put_item(TableName="t", Item={"pk": {"S": "gone"}, "sk": {"S": "1"}})
    item = _table().items[next(k for k in _table().items if k.value == "gone")]
    watched = weakref.ref(next(iter(item.values())))
    dynamodb.delete_item(TableName="t", Key={"pk": {"S": "gone"}, "sk": {"S": "1"}})
    del item
    _table().stream_shard.items.clear()  # stream records hold images, not the item
    gc.collect()
    assert watched() is None
    assert Item.instances_tracked == []  # type: ignore[attr-defined]


def test_stream_records_older_than_a_day_are_trimmed_and_reading_goes_on(dynamodb: Any) -> None:
    dynamodb.put_item(TableName="t", Item={"pk": {"S": "old"}, "sk": {"S": "1"}})
    shard = _table().stream_shard
    shard.items[0].record["dynamodb"]["ApproximateCreationDateTime"] = datetime.now(UTC) - timedelta(hours=25)
    dynamodb.put_item(TableName="t", Item={"pk": {"S": "new"}, "sk": {"S": "1"}})
    first_new = shard.items[1].record["dynamodb"]["SequenceNumber"]

    assert trim_streams() == 1

    streams = boto3.client("dynamodbstreams", region_name="eu-west-2")
    arn = dynamodb.describe_table(TableName="t")["Table"]["LatestStreamArn"]
    [shard_id] = [s["ShardId"] for s in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    assert [r["dynamodb"]["SequenceNumber"] for r in records] == [first_new]
    dynamodb.put_item(TableName="t", Item={"pk": {"S": "newer"}, "sk": {"S": "1"}})
    after = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard_id, ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=first_new
    )
    [newer] = streams.get_records(ShardIterator=after["ShardIterator"])["Records"]
    assert newer["dynamodb"]["Keys"]["pk"]["S"] == "newer"


def test_shard_iterators_are_not_kept_for_ever(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    monkeypatch.setattr(moto_isolation, "MAX_SHARD_ITERATORS", 50)
    streams = boto3.client("dynamodbstreams", region_name="eu-west-2")
    arn = dynamodb.describe_table(TableName="t")["Table"]["LatestStreamArn"]
    shard_id = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    for _ in range(200):
        streams.get_shard_iterator(StreamArn=arn, ShardId=shard_id, ShardIteratorType="LATEST")
    assert len(dynamodbstreams_backends["123456789012"]["eu-west-2"].shard_iterators) <= 50


def test_concurrent_transactions_keep_every_write(dynamodb: Any) -> None:
    """One thread's cancelled transactions never undo another's committed ones."""

    def writer(name: str) -> None:
        for n in range(30):
            dynamodb.transact_write_items(TransactItems=[_put(name, str(n))])
            with pytest.raises(ClientError):
                dynamodb.transact_write_items(TransactItems=[_put(name, f"x{n}"), _put(name, str(n))])

    threads = [threading.Thread(target=writer, args=(f"W{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(_everything(dynamodb)) == 90
    assert copy.deepcopy(1) == 1  # the shim leaves copy itself alone


def test_a_scan_beside_writes_sees_a_whole_table_and_never_fails(dynamodb: Any) -> None:
    """moto's scan iterates the table's dict: beside a write it raised (a 500 to the caller) until serialised."""
    done = threading.Event()
    failures: list[Exception] = []

    def writer() -> None:
        for n in range(400):
            dynamodb.transact_write_items(TransactItems=[_put(f"P{n}", "x")])
        done.set()

    def scanner() -> None:
        while not done.is_set():
            try:
                dynamodb.scan(TableName="t", Select="COUNT")
            except Exception as exc:  # whatever it is, the test reports it
                failures.append(exc)

    threads = [threading.Thread(target=writer), threading.Thread(target=scanner), threading.Thread(target=scanner)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert dynamodb.scan(TableName="t", Select="COUNT")["Count"] == 400
