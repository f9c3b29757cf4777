"""Helpers shared by every test suite (each lives once, here):

- clock.py: SettableClock, NOW
- waiting.py: wait_until
- events.py: EventRecorder
- jobs.py: new_job, add_job, move, make_ready_job, packaging_job, OWNER_EMAIL
- adapters.py: embedded_settings, embedded_adapters, embedded_environment (for `imgjob` subprocesses)
- mail.py: read_outbox, text_part, html_part
- network.py: free_port

The pytest fixtures built on them are in fixtures.py (registered by the suites' conftest.py).
"""

from tests.support.adapters import embedded_adapters, embedded_environment, embedded_settings
from tests.support.clock import NOW, SettableClock
from tests.support.events import EventRecorder
from tests.support.jobs import OWNER_EMAIL, add_job, make_ready_job, move, new_job, packaging_job
from tests.support.mail import html_part, read_outbox, text_part
from tests.support.network import free_port
from tests.support.waiting import wait_until

__all__ = [
    "NOW",
    "OWNER_EMAIL",
    "EventRecorder",
    "SettableClock",
    "add_job",
    "embedded_adapters",
    "embedded_environment",
    "embedded_settings",
    "free_port",
    "html_part",
    "make_ready_job",
    "move",
    "new_job",
    "packaging_job",
    "read_outbox",
    "text_part",
    "wait_until",
]
