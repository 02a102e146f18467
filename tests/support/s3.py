"""A real S3-compatible server for tests: moto's server mode on a free port, spoken to over HTTP by
Directus's S3 storage driver exactly as it speaks to AWS."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from service.stack.settings import free_port


@dataclass
class S3Server:
    """A running S3 server with one bucket, and what a client needs to reach it."""

    server: ThreadedMotoServer
    endpoint: str
    bucket: str
    access_key_id: str = "aidj-test"
    secret_access_key: str = "aidj-test-secret"
    region: str = "us-east-1"

    def environ(self) -> dict[str, str]:
        """The variables that put a stack's files in this bucket (``AIDJ_STORAGE=s3``)."""
        return {
            "AIDJ_STORAGE": "s3",
            "S3_BUCKET": self.bucket,
            "S3_REGION": self.region,
            "S3_ENDPOINT": self.endpoint,
            "S3_ACCESS_KEY_ID": self.access_key_id,
            "S3_SECRET_ACCESS_KEY": self.secret_access_key,
        }

    def client(self) -> Any:
        """A boto3 client on the server, to look into the bucket."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
        )

    def object_keys(self) -> list[str]:
        """Every object key in the bucket."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def stop(self) -> None:
        """Stop the server."""
        self.server.stop()


def start_s3() -> S3Server:
    """Start the server and create a bucket; the caller must call ``stop()``."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    s3 = S3Server(server, f"http://127.0.0.1:{port}", f"aidj-{secrets.token_hex(4)}")
    s3.client().create_bucket(Bucket=s3.bucket)
    return s3
