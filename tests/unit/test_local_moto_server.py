"""The local runtime's AWS endpoint: moto's application served with keep-alive connections."""

from __future__ import annotations

import boto3
import requests

from infra.local.moto_server import MotoServer


def test_moto_answers_real_boto3_calls_over_connections_kept_open() -> None:
    server = MotoServer().start()
    try:
        sqs = boto3.client(
            "sqs",
            endpoint_url=server.endpoint_url,
            region_name="eu-west-2",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        url = sqs.create_queue(QueueName="kept-open")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="hello")
        assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ["hello"]

        with requests.Session() as session:
            first = session.get(server.endpoint_url + "/moto-api/data.json", timeout=10)
            pools = session.get_adapter("http://").poolmanager.pools  # type: ignore[attr-defined]
            connection = pools[next(iter(pools.keys()))]
            reused = session.get(server.endpoint_url + "/moto-api/data.json", timeout=10)
            # werkzeug's server (moto's own) answers "Connection: close" and the pool would open a second one
            assert first.headers.get("Connection", "").lower() != "close"
            assert reused.status_code == 200 and connection.num_connections == 1
    finally:
        server.stop()
