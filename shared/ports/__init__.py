"""The small interfaces through which every service talks to the outside world."""

from shared.ports.blobs import BlobStore
from shared.ports.browser import BrowserFactory
from shared.ports.bus import Handler, MessageBus
from shared.ports.mail import Mailer, OutgoingMail
from shared.ports.store import JobStore

__all__ = ["BlobStore", "BrowserFactory", "Handler", "JobStore", "Mailer", "MessageBus", "OutgoingMail"]
