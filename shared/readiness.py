"""Whether the adapters can serve: each port answers, and finds what `imgjob migrate` creates."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from shared.ports import Adapters, NotMigrated

log = logging.getLogger(__name__)

OK = "ok"


def check(adapters: Adapters) -> dict[str, str]:
    """Port name -> "ok", "not migrated: ..." (run `imgjob migrate`) or "unavailable"."""
    pings = (("store", adapters.store.ping), ("blobs", adapters.blobs.ping), ("bus", adapters.bus.ping))
    return {name: _ping(name, ping) for name, ping in pings}


def check_worker(adapters: Adapters) -> dict[str, str]:
    """A worker's readiness (its ops port's /readyz): the store answers and is migrated, and the bus
    delivers to every queue the process consumes ("not consuming" before start, while a consumer
    waits for its queue or reconnects, and after close)."""
    return {
        "store": _ping("store", adapters.store.ping),
        "consumer": OK if adapters.bus.consuming() else "not consuming",
    }


def _ping(name: str, ping: Callable[[], None]) -> str:
    try:
        ping()
        return OK
    except NotMigrated as exc:
        return f"not migrated: {exc}"
    except Exception:
        log.exception("readiness: the %s did not answer", name)
        return "unavailable"


def wait_until_ready(adapters: Adapters, stop: threading.Event, interval: float = 5.0) -> bool:
    """Block until every port is ready (a worker started before `imgjob migrate` waits for it rather
    than create anything itself); False if `stop` was set first."""
    while not stop.is_set():
        problems = {name: state for name, state in check(adapters).items() if state != OK}
        if not problems:
            return True
        described = "; ".join(f"{name}: {state}" for name, state in problems.items())
        log.error("not ready (%s); looking again in %.0fs", described, interval)
        stop.wait(interval)
    return False
