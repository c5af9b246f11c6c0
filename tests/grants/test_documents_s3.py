"""Documents in S3-compatible object storage (HMS_STORAGE=s3), against a real S3 server process
(moto's): stored under a random key, private (no anonymous read), streamed back through the
service's authorization."""

import importlib
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest

from hms.settings.concerns import storage
from tests.grants.test_forms import PDF, start, upload
from tests.ports import free_port

pytestmark = pytest.mark.django_db(databases="__all__")

BUCKET = "hms-documents-test"
CREDENTIALS = {"aws_access_key_id": "hms-test", "aws_secret_access_key": "hms-test-secret"}


@pytest.fixture(scope="module")
def s3_server():
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(endpoint, timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("the S3 server did not start")
            time.sleep(0.2)
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **CREDENTIALS)
    client.create_bucket(Bucket=BUCKET)
    yield endpoint, client
    server.terminate()
    server.wait(10)


@pytest.fixture
def s3_storage(settings, s3_server):
    endpoint, client = s3_server
    # The settings HMS_STORAGE=s3 gives (hms/settings/concerns/storage.py), at this server.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": endpoint,
                "region_name": "us-east-1",
                "access_key": CREDENTIALS["aws_access_key_id"],
                "secret_key": CREDENTIALS["aws_secret_access_key"],
                "default_acl": "private",
                "querystring_auth": True,
                "file_overwrite": False,
            },
        },
    }
    return endpoint, client


def test_the_s3_settings_are_the_ones_the_environment_chooses(monkeypatch):
    monkeypatch.setenv("HMS_STORAGE", "s3")
    monkeypatch.setenv("HMS_S3_BUCKET", BUCKET)
    reloaded = importlib.reload(storage)
    try:
        default = reloaded.STORAGES["default"]
        assert default["BACKEND"] == "storages.backends.s3.S3Storage"
        assert default["OPTIONS"]["bucket_name"] == BUCKET
        assert default["OPTIONS"]["default_acl"] == "private"
    finally:
        monkeypatch.delenv("HMS_STORAGE")
        importlib.reload(storage)


def test_a_document_is_stored_privately_in_s3_and_streamed_back(
    business, business_client, open_program, s3_storage
):
    _endpoint, client = s3_storage
    draft = start(business_client, open_program)
    created = upload(business_client, draft["id"], name="statement.pdf")
    assert created.status_code == 201, created.json()

    [stored] = client.list_objects_v2(Bucket=BUCKET, Prefix="grants/")["Contents"]
    assert stored["Key"].startswith(f"grants/applications/{draft['id']}/")
    assert "statement" not in stored["Key"]
    assert client.get_object(Bucket=BUCKET, Key=stored["Key"])["Body"].read() == PDF
    # No public URL: an anonymous read of the object is refused.
    acl = client.get_object_acl(Bucket=BUCKET, Key=stored["Key"])
    assert all("AllUsers" not in str(grant["Grantee"]) for grant in acl["Grants"])

    download = business_client.get(
        f"/grants/applications/{draft['id']}/documents/{created.json()['id']}"
    )
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
