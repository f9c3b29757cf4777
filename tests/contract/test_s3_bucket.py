"""The S3 blob store's bucket settings, on the real MinIO: its lifecycle backstop."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit, urlunsplit

from minio.lifecycleconfig import LifecycleConfig
from minio.xml import marshal

from shared.adapters.s3.blobs import S3BlobStore, backstop_rule
from tests.infra import require_reachable


def test_migrate_gives_the_bucket_its_backstop_rule_for_jobs_objects() -> None:
    parts = urlsplit(require_reachable("blobs"))
    bucket = f"imgjob-test-{uuid.uuid4().hex[:12]}"
    store = S3BlobStore(urlunsplit(parts._replace(path=f"/{bucket}")), lifecycle_days=4)
    store.migrate()
    try:
        rules = store.client.get_bucket_lifecycle(bucket).rules
        assert [(rule.rule_id, rule.rule_filter.prefix, rule.expiration.days) for rule in rules] == [
            ("imgjob-backstop", "jobs/", 4)
        ]
    finally:
        store.client.remove_bucket(bucket)


def test_the_backstop_also_ends_uploads_a_killed_writer_left_after_a_day() -> None:
    # The XML S3 is sent, since MinIO drops this part of a rule (it ends stale uploads itself after a day).
    sent = marshal(LifecycleConfig([backstop_rule(3)])).decode()
    assert "<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation>" in sent
    assert "<Expiration><Days>3</Days></Expiration>" in sent
