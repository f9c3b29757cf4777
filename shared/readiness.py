"""Whether the adapters can serve: each port answers, and finds what `imgjob migrate` creates."""

from __future__ import annotations

import logging
import threading

from shared.ports import Adapters, NotMigrated

log = logging.getLogger(__name__)

OK = "ok"


def check(adapters: Adapters) -> dict[str, str]:
    """Port name -> "ok", "not migrated: ..." (run `imgjob migrate`) or "unavailable"."""
    checks: dict[str, str] = {}
    for name, ping in (("store", adapters.store.ping), ("blobs", adapters.blobs.ping), ("bus", adapters.bus.ping)):
        try:
            ping()
            checks[name] = OK
        except NotMigrated as exc:
            checks[name] = f"not migrated: {exc}"
        except Exception:
            log.exception("readiness: the %s did not answer", name)
            checks[name] = "unavailable"
    return checks


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
