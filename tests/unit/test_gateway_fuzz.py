"""Property-based fuzzing of the JSON API from its own /openapi.json (schemathesis, in-process WSGI).

For every operation, generated requests (valid by the schema and deliberately invalid ones) must never
get a 5xx, and every answer must match what the document promises: status codes, content types,
headers and bodies. Run through the Flask app itself, so no socket is opened.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services.gateway.app import create_app
from services.gateway.openapi import EXAMPLE_JOB_ID, openapi_document
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
