"""The small interfaces through which every service talks to the outside world."""

from shared.ports.blobs import BlobStore, NotEnoughRoom
from shared.ports.browser import BrowserFactory
from shared.ports.bundle import Adapters, Clock, utc_now
from shared.ports.bus import DeadLetter, DeadLetterHandler, Handler, MessageBus
from shared.ports.mail import Mailer, OutgoingMail
from shared.ports.migration import NotMigrated
from shared.ports.store import JobStore, RateHit

__all__ = [
    "Adapters",
    "BlobStore",
    "BrowserFactory",
    "Clock",
    "DeadLetter",
    "DeadLetterHandler",
    "Handler",
    "JobStore",
    "Mailer",
    "MessageBus",
    "NotEnoughRoom",
    "NotMigrated",
    "OutgoingMail",
    "RateHit",
    "utc_now",
]
