"""Property-based fuzzing of the JSON API from its own /openapi.json (schemathesis, in-process WSGI).

For every operation, generated requests (valid by the schema and deliberately invalid ones) must never
get a 5xx, and every answer must match what the document promises: status codes, content types,
headers and bodies. Job submissions are also sent with random Content-Types (and none): anything but
application/json must get 415 and store nothing. Run through the Flask app itself, so no socket is opened.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterator

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services.gateway.app import create_app
from services.gateway.openapi import EXAMPLE_JOB_ID, openapi_document
from services.gateway.state import adapters as app_adapters
from services.gateway.views_api import JSON_ONLY
from shared.domain.model import JobStatus
from tests.support import NOW, SettableClock, add_job, embedded_adapters

SERVER = "http://gateway.test"
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
# Schema-valid bodies may still break business rules the schema cannot state (a time in the past,
# an unknown time zone, control characters), so "positive data is accepted" is not checked.


# The document the app serves at /openapi.json (test_the_fuzzed_document_is_the_served_one checks it).
schema = schemathesis.openapi.from_dict(openapi_document(SERVER))


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    adapters = embedded_adapters(
        tmp_path_factory.mktemp("fuzz"),
        # A fixed "now", so generated times fall on both sides of it and both branches of the checks run.
        SettableClock(NOW),
        # Limits off: the fuzzer sends hundreds of requests from one address.
        rate_limit_per_address="off",
        rate_limit_per_email="off",
        public_url=SERVER,
    )
    # The document's example id names a real job, so the examples phase reads and cancels an existing one.
    add_job(adapters, id=EXAMPLE_JOB_ID)
    yield create_app(adapters)
    adapters.close()


def test_the_fuzzed_document_is_the_served_one(app: Flask) -> None:
    assert app.test_client().get("/openapi.json").get_json() == openapi_document(SERVER)


@schema.parametrize()
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_api_keeps_its_openapi_promises(app: Flask, case: schemathesis.Case) -> None:
    case.call_and_validate(app=app, checks=CHECKS)


# Content-Types a client or a cross-site form might send. RFC 7230 token characters for made-up ones.
TOKEN = st.text(alphabet=string.ascii_letters + string.digits + "!#$&-^_.+", min_size=1, max_size=12)
PARAMETERS = st.lists(st.builds("; {}={}".format, TOKEN, TOKEN | st.just("utf-8")), max_size=2).map("".join)
NOT_JSON = [
    "text/plain",
    "text/plain; charset=utf-8",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "text/json",
    "application/jsonp",
    "application/json-patch+json",
    "application/ld+json",
    "application/javascript",
    "application/octet-stream",
    "application/json/x",
    "application",
    "json",
    "*/*",
    "",
]


def _random_case(text: str, flips: list[bool]) -> str:
    return "".join(c.upper() if flip else c for c, flip in zip(text, flips, strict=False))


JSON_TYPES = st.builds(
    lambda flips, params: _random_case("application/json", flips) + params,
    st.lists(st.booleans(), min_size=16, max_size=16),
    PARAMETERS,
)
OTHER_TYPES = st.builds("{}{}".format, st.sampled_from(NOT_JSON) | st.builds("{}/{}".format, TOKEN, TOKEN), PARAMETERS)
CREATE = schema["/api/jobs"]["POST"]
# Schema-valid job bodies (which a JSON Content-Type would turn into jobs), anything else, and form fields.
BODIES = st.one_of(
    CREATE.as_strategy().map(lambda case: json.dumps(case.body).encode()),
    st.binary(max_size=200),
    st.just(b"query=cats&email=a%40example.com&count=3"),
)


@given(content_type=st.none() | JSON_TYPES | OTHER_TYPES, body=BODIES)
@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_only_a_json_content_type_is_read(app: Flask, content_type: str | None, body: bytes) -> None:
    client = app.test_client()
    headers = {} if content_type is None else {"Content-Type": content_type}
    with app.app_context():
        store = app_adapters().store
    before = len(store.jobs_in(JobStatus.SCHEDULED))
    response = client.post("/api/jobs", data=body, headers=headers)
    is_json = content_type is not None and content_type.split(";")[0].strip().lower() == "application/json"
    if is_json:
        assert response.status_code in (201, 400, 413, 422), response.get_data(as_text=True)
    else:
        assert response.status_code == 415, (content_type, response.get_data(as_text=True))
        assert response.get_json() == {"errors": {"body": JSON_ONLY}}
        assert response.mimetype == "application/json"
        assert len(store.jobs_in(JobStatus.SCHEDULED)) == before
