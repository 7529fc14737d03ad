"""A warehouse and inputs on S3 (moto's S3 server on loopback): Lance gets
the warehouse's storage options, fsspec reads the inputs; Spark workers write
fragments straight to the bucket."""

from __future__ import annotations

import pytest

from sciir_dist.ingest.pipeline import IngestOptions
from sciir_dist.ingest.run import run_ingest
from sciir_dist.warehouse import Warehouse


@pytest.fixture(scope="module")
def s3():
    boto3 = pytest.importorskip("boto3")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test",
                          region_name="us-east-1")
    for bucket in ("sciir-in", "sciir-wh"):
        client.create_bucket(Bucket=bucket)
    yield endpoint, client
    server.stop()


def test_ingest_from_and_into_s3(s3, corpus, spark_engine, spark_warehouse):
    endpoint, client = s3
    for path in corpus.rglob("*"):
        if path.is_file():
            client.upload_file(str(path), "sciir-in", f"corpus/{path.relative_to(corpus)}")
    lance_opts = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "aws_endpoint": endpoint,
                  "aws_region": "us-east-1", "allow_http": "true"}
    fsspec_opts = {"key": "test", "secret": "test", "endpoint_url": endpoint}
    wh = Warehouse("s3://sciir-wh/warehouse", lance_opts)
    opts = IngestOptions(storage_options=fsspec_opts)
    summary = run_ingest(["s3://sciir-in/corpus"], wh, spark_engine, opts)
    local, _ = spark_warehouse
    assert summary.rows_in == local.count("sources")
    for table, key in (("panels", "panel_id"), ("figures", "figure_id")):
        assert wh.read(table).sort_by(key).to_pylist() == local.read(table).sort_by(key).to_pylist(), table
    cols = ["article_id", "doi", "title", "license"]
    assert wh.read("articles", cols).sort_by("article_id").equals(local.read("articles", cols).sort_by("article_id"))
    assert all(u.startswith("s3://sciir-in/corpus/") for u in wh.read("articles", ["source_uri"]).column("source_uri").to_pylist())
    again = run_ingest(["s3://sciir-in/corpus"], wh, spark_engine, opts)
    assert again.skipped == again.rows_in  # ETag fingerprints are stable
