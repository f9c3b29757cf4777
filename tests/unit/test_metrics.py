"""Each worker metric moves when its event happens. The registry is the process's, shared with every
other test: each test reads differences, before and after."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.notifier.handlers import on_job_email_due, on_job_started
from services.packager.download import Downloader
from services.packager.handlers import on_job_links_collected
from services.scheduler.handlers import on_job_due
from shared import metrics
from shared.adapters.memory.bus import MemoryBus
from shared.adapters.outbox.mailer import OutboxMailer
from shared.domain.emails import EmailState
from shared.domain.model import JobStatus
from shared.events import JOB_DUE, JOB_EMAIL_DUE, JOB_LINKS_COLLECTED, JOB_READY, JOB_STARTED, Event
from shared.ports import Adapters
from shared.runtime import Service
from shared.unsubscribe import mailbox_hash
from tests.fakeweb import FakeWeb
from tests.support import SettableClock, new_job, packaging_job, read_outbox, wait_until


def value(name: str, **labels: str) -> float:
    """The sample's current value; a labelled series not yet seen counts as 0."""
    found = metrics.REGISTRY.get_sample_value(name, labels)
    return 0.0 if found is None else found


class Moves:
    """The change of several samples across a block: `moves = Moves(...)`, act, then `moves()`."""

    def __init__(self, **samples: tuple[str, dict[str, str]]) -> None:
        self._samples = samples
        self._before = self._read()

    def _read(self) -> dict[str, float]:
        return {key: value(name, **labels) for key, (name, labels) in self._samples.items()}

    def __call__(self) -> dict[str, float]:
        after = self._read()
        return {key: round(after[key] - self._before[key], 6) for key in after}


@pytest.fixture(scope="module")
def web() -> Iterator[FakeWeb]:
    with FakeWeb() as server:
        yield server


def _handled(service: str, event_type: str, outcome: str) -> tuple[str, dict[str, str]]:
    labels = {"service": service, "event_type": event_type, "outcome": outcome}
    return "imgjob_events_handled_total", labels


def test_dispatch_counts_each_event_by_outcome_and_times_it_and_errors_still_propagate() -> None:
    def fails(event: Event) -> None:
        raise RuntimeError("the store went away")

    service = Service("metrics-test", "test.metrics", handlers={JOB_STARTED: lambda event: None, JOB_READY: fails})
    duration = ("imgjob_handler_duration_seconds_count", {"service": "metrics-test", "event_type": JOB_STARTED})
    moves = Moves(
        ok=_handled("metrics-test", JOB_STARTED, "ok"),
        error=_handled("metrics-test", JOB_READY, "error"),
        ignored=_handled("metrics-test", JOB_DUE, "ignored"),
        timed=duration,
    )
    service.dispatch(Event(JOB_STARTED, "j1"))
    service.dispatch(Event(JOB_STARTED, "j2"))
    with pytest.raises(RuntimeError, match="the store went away"):
        service.dispatch(Event(JOB_READY, "j3"))
    service.dispatch(Event(JOB_DUE, "j4"))  # no handler for it
    assert moves() == {"ok": 2, "error": 1, "ignored": 1, "timed": 2}


def test_an_event_dead_lettered_by_the_embedded_bus_is_counted_once_for_its_queue() -> None:
    bus = MemoryBus(max_deliveries=2)
    attempts: list[str] = []

    def poison(event: Event) -> None:
        attempts.append(event.event_id)
        raise RuntimeError("poison")

    bus.subscribe("metrics.poison", [JOB_READY], poison)
    moves = Moves(dead=("imgjob_dead_letters_total", {"queue": "metrics.poison"}))
    bus.start()
    try:
        bus.publish(Event(JOB_READY, "j5", {"images": 0, "failed": 0}))
        wait_until(lambda: bus.dead_letters(), what="the dead letter")
        assert bus.wait_idle(5)
    finally:
        bus.close()
    assert len(attempts) == 2
    assert moves() == {"dead": 1}


def test_the_scheduler_observes_how_late_a_job_started(adapters: Adapters, clock: SettableClock) -> None:
    job = new_job(clock, delay=-3)  # due three seconds ago on the test clock
    adapters.store.add_job(job)
    moves = Moves(
        total=("imgjob_scheduler_lateness_seconds_sum", {}),
        count=("imgjob_scheduler_lateness_seconds_count", {}),
        within_5s=("imgjob_scheduler_lateness_seconds_bucket", {"le": "5.0"}),
        within_2s=("imgjob_scheduler_lateness_seconds_bucket", {"le": "2.0"}),
    )
    on_job_due(adapters, Event(JOB_DUE, job.id))
    on_job_due(adapters, Event(JOB_DUE, job.id))  # a redelivery: the job started once, observed once
    assert adapters.store.get_job(job.id).status is JobStatus.RUNNING  # type: ignore[union-attr]
    assert moves() == {"total": 3.0, "count": 1, "within_5s": 1, "within_2s": 0}


def _emails(kind: str, *outcomes: str) -> dict[str, tuple[str, dict[str, str]]]:
    return {outcome: ("imgjob_notifier_emails_total", {"kind": kind, "outcome": outcome}) for outcome in outcomes}


def test_the_notifier_counts_emails_by_kind_and_outcome(
    adapters: Adapters, clock: SettableClock, tmp_path: Path
) -> None:
    job = new_job(adapters.clock, status=JobStatus.RUNNING)
    adapters.store.add_job(job)
    moves = Moves(**_emails("started", "sent", "deferred", "undelivered"))
    # An outbox that cannot be written (its folder's parent is a file): the try is deferred.
    (tmp_path / "not-a-folder").write_text("")
    working = adapters.mailer
    adapters.mailer = OutboxMailer(tmp_path / "not-a-folder" / "outbox", adapters.settings.mail_sender)
    on_job_started(adapters, Event(JOB_STARTED, job.id))
    assert adapters.store.emails(job.id)["started"].state is EmailState.RETRYING
    adapters.mailer = working
    clock.advance(60)
    on_job_email_due(adapters, Event(JOB_EMAIL_DUE, job.id, {"kind": "started"}))
    assert len(read_outbox(Path(adapters.settings.mail_outbox))) == 1
    assert moves() == {"sent": 1, "deferred": 1, "undelivered": 0}


def test_the_notifier_counts_an_email_to_an_unsubscribed_address_as_suppressed(adapters: Adapters) -> None:
    job = new_job(adapters.clock, status=JobStatus.RUNNING, email="gone@example.com")
    adapters.store.add_job(job)
    adapters.store.suppress(mailbox_hash(adapters.settings.secret_key, job.email))
    moves = Moves(**_emails("started", "sent", "suppressed"))
    on_job_started(adapters, Event(JOB_STARTED, job.id))
    assert read_outbox(Path(adapters.settings.mail_outbox)) == []
    assert moves() == {"sent": 0, "suppressed": 1}


def _downloads(*outcomes: str) -> dict[str, tuple[str, dict[str, str]]]:
    return {outcome: ("imgjob_packager_downloads_total", {"outcome": outcome}) for outcome in outcomes}


def test_the_packager_counts_downloads_by_outcome_their_bytes_and_the_job_time(
    adapters: Adapters, web: FakeWeb
) -> None:
    urls = [f"{web.url}/img/{n}.png?size={100 + 10 * n}" for n in range(1, 4)]
    urls += [f"{web.url}/img/7.jpg?status=404", f"{web.url}/img/8.jpg?status=503"]
    job = packaging_job(adapters, urls, query="counted images")
    moves = Moves(
        **_downloads("ok", "http_error", "timeout"),
        bytes=("imgjob_packager_downloaded_bytes_total", {}),
        jobs=("imgjob_packager_job_duration_seconds_count", {}),
    )
    on_job_links_collected(adapters, Downloader.from_settings(adapters.settings), Event(JOB_LINKS_COLLECTED, job.id))
    ready = adapters.store.get_job(job.id)
    assert ready is not None and ready.status is JobStatus.READY
    moved = moves()
    # Three distinct images: the bytes kept are exactly what the job reports it downloaded.
    assert ready.progress.bytes_downloaded > 0
    assert moved == {
        "ok": 3,
        "http_error": 2,
        "timeout": 0,
        "bytes": ready.progress.bytes_downloaded,
        "jobs": 1,
    }


def test_a_packager_job_with_nothing_to_zip_observes_no_job_time(adapters: Adapters, web: FakeWeb) -> None:
    job = packaging_job(adapters, [f"{web.url}/img/1.png?status=404"], query="nothing there")
    moves = Moves(**_downloads("http_error"), jobs=("imgjob_packager_job_duration_seconds_count", {}))
    on_job_links_collected(adapters, Downloader.from_settings(adapters.settings), Event(JOB_LINKS_COLLECTED, job.id))
    assert adapters.store.get_job(job.id).status is JobStatus.FAILED  # type: ignore[union-attr]
    assert moves() == {"http_error": 1, "jobs": 0}


@pytest.mark.parametrize(
    ("reason", "label"),
    [
        ("HTTP 404", "http_error"),
        ("timed out", "timeout"),
        ("too large: over 25 MB", "too_large"),
        ("job byte budget of 100 bytes reached", "budget"),
        ("not an image", "not_an_image"),
        ("too many pixels: 9000x9000", "too_many_pixels"),
        ("refused: 10.0.0.1 is a private address", "refused"),
        ("host not found", "host_not_found"),
        ("connection broken", "connection_failed"),
        ("unsupported URL scheme", "unsupported_url"),
        ("something new", "other"),
    ],
)
def test_a_failure_reason_becomes_one_of_a_few_labels(reason: str, label: str) -> None:
    from services.packager.download import FailedImage
    from services.packager.measures import outcome_label
    from shared.domain.model import Link

    assert outcome_label(FailedImage(Link(position=1, url="http://x.test/a.jpg"), reason)) == label


def test_every_worker_metric_is_exposed_with_help_even_before_it_moves() -> None:
    from prometheus_client import generate_latest

    text = generate_latest(metrics.REGISTRY).decode()
    exposed = [
        "imgjob_events_handled_total",
        "imgjob_handler_duration_seconds",
        "imgjob_dead_letters_total",
        "imgjob_scheduler_lateness_seconds",
        "imgjob_packager_downloads_total",
        "imgjob_packager_downloaded_bytes_total",
        "imgjob_packager_job_duration_seconds",
        "imgjob_notifier_emails_total",
        "imgjob_scraper_provider_outcomes_total",
        "process_resident_memory_bytes",
    ]
    assert [name for name in exposed if f"# HELP {name} " not in text] == []
