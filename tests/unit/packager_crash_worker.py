"""`python -m tests.unit.packager_crash_worker JOB_ID`: one packager delivery in a process of its own.

Settings come from the environment (IMGJOB_STORE_URL, IMGJOB_BLOB_URL, ...), as for `imgjob packager`;
the embedded adapters point at the test's temporary directory. The test kills this process mid-job.
"""

from __future__ import annotations

import logging
import sys

from services.bootstrap import bootstrap
from services.packager.service import build_service
from shared.config import Settings
from shared.events import JOB_LINKS_COLLECTED, Event


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="worker %(levelname)s %(name)s: %(message)s")
    [job_id] = argv
    adapters = bootstrap(Settings.from_env())
    try:
        build_service(adapters).dispatch(Event(JOB_LINKS_COLLECTED, job_id))
    finally:
        adapters.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
