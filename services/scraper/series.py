"""The scraper's part in recurring searches: asking the engines for enough links that are new.

The packager drops the links an earlier run of the series delivered (services.packager.series). At most
as many of the engines' results can be such links as the series has delivered URLs, so asking for that
many more than the job would otherwise want finds the job's count of new ones whenever the engines have
them: a run keeps collecting until it has its count or the engines run out.
"""

from __future__ import annotations

from shared.domain.model import Job
from shared.ports import Adapters

# The engines' own result pages stop around here; asking for more only makes them scroll in vain.
MAX_SERIES_LINKS = 1000


def links_for_series(adapters: Adapters, job: Job, wanted: int) -> int:
    """`wanted`, plus the series' delivered URLs for a run of a series (within MAX_SERIES_LINKS)."""
    if not job.series_id:
        return wanted
    delivered = adapters.store.delivered_url_count(job.series_id)
    return min(wanted + delivered, max(wanted, MAX_SERIES_LINKS))
