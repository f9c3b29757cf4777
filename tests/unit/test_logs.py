"""Log lines: JSON objects with the process's role and the job at hand, or plain text; redacted either way."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from services.gateway.app import create_app
from services.packager.service import build_service as build_packager
from shared import logs
from shared.events import JOB_LINKS_COLLECTED, JOB_STARTED, Event
from shared.ports import Adapters
from shared.runtime import Service
from tests.fakeweb import FakeWeb
from tests.support import add_job, packaging_job

log = logging.getLogger("tests.logs")


class Captured:
    """What a handler prepared by `logs.prepare` wrote, attached to the root logger at INFO."""

    def __init__(self, log_format: str, service: str) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        logs.prepare(self.handler, log_format, service)

    def lines(self) -> list[str]:
        return self.stream.getvalue().splitlines()

    def records(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.lines()]

    def about(self, text: str) -> list[dict[str, object]]:
        return [record for record in self.records() if text in str(record["message"])]


@pytest.fixture
def capture() -> Iterator[Captured]:
    root = logging.getLogger()
    captured = Captured("json", "scheduler")
    level = root.level
    root.addHandler(captured.handler)
    root.setLevel(logging.INFO)
    yield captured
    root.removeHandler(captured.handler)
    root.setLevel(level)


def test_a_json_line_has_time_level_service_logger_and_message(capture: Captured) -> None:
    log.warning("%d images for job %s", 3, "abc")
    [line] = capture.lines()
    record = json.loads(line)
    assert {key: record[key] for key in ("level", "service", "logger", "message")} == {
        "level": "WARNING",
        "service": "scheduler",
        "logger": "tests.logs",
        "message": "3 images for job abc",
    }
    assert datetime.fromisoformat(str(record["time"])).utcoffset() is not None
    assert "job_id" not in record and "exception" not in record


def test_a_handler_running_an_event_logs_with_its_job_id_and_only_meanwhile(capture: Captured) -> None:
    service = Service("scheduler", "test.logs", handlers={JOB_STARTED: lambda event: log.info("handling")})
    service.dispatch(Event(JOB_STARTED, "job-42"))
    log.info("between events")
    assert [r.get("job_id") for r in capture.about("handling")] == ["job-42"]
    assert [r.get("job_id") for r in capture.about("between events")] == [None]


def test_an_exception_is_a_field_of_its_line_and_redacted(capture: Captured) -> None:
    def fails(event: Event) -> None:
        try:
            raise RuntimeError("could not mail someone@example.com")
        except RuntimeError:
            log.exception("the handler failed for %s", "other@example.com")
            raise

    service = Service("scheduler", "test.logs", handlers={JOB_STARTED: fails})
    with pytest.raises(RuntimeError):
        service.dispatch(Event(JOB_STARTED, "job-7"))
    [record] = capture.about("the handler failed")
    assert record["job_id"] == "job-7"
    assert record["message"] == "the handler failed for [address]"
    exception = str(record["exception"])
    assert exception.startswith("Traceback") and "RuntimeError: could not mail [address]" in exception
    assert "@example.com" not in "\n".join(capture.lines())


def test_the_text_format_is_one_redacted_line_per_record() -> None:
    captured = Captured("text", "janitor")
    logger = logging.getLogger("tests.logs.text")
    logger.addHandler(captured.handler)
    logger.propagate = False
    try:
        logger.warning("sent to %s", "person@example.com")
    finally:
        logger.removeHandler(captured.handler)
        logger.propagate = True
    [line] = captured.lines()
    assert line.endswith(" WARNING tests.logs.text: sent to [address]")
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


def test_what_the_packagers_download_threads_log_names_the_job(
    capture: Captured, adapters: Adapters, tmp_path: Path
) -> None:
    with FakeWeb() as web:
        job = packaging_job(adapters, [f"{web.url}/img/1.png?status=404"], query="logged")
        build_packager(adapters).dispatch(Event(JOB_LINKS_COLLECTED, job.id))
    failed = capture.about("failed: HTTP 404")
    assert failed, capture.lines()
    assert {(r["logger"], r.get("job_id")) for r in failed} == {("services.packager.download", job.id)}


def test_a_gateway_request_naming_a_job_logs_with_its_job_id(capture: Captured, adapters: Adapters) -> None:
    app = create_app(adapters)
    app.wsgi_app = logs.JobIdFromPath(app.wsgi_app)  # type: ignore[method-assign]
    job = add_job(adapters)
    response = app.test_client().delete(f"/api/jobs/{job.id}")
    assert response.status_code == 200
    assert [r.get("job_id") for r in capture.about(f"job {job.id} cancelled")] == [job.id]


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="xml"):
        logs.formatter("xml")


def test_the_log_format_setting_takes_text_or_json_in_any_case() -> None:
    from shared.config import Settings, SettingsError

    assert Settings.from_env({}).log_format == "text"
    assert Settings.from_env({"IMGJOB_LOG_FORMAT": " JSON "}).log_format == "json"
    with pytest.raises(SettingsError, match=r"IMGJOB_LOG_FORMAT: expected one of text, json, got 'xml'"):
        Settings.from_env({"IMGJOB_LOG_FORMAT": "xml"})
