"""Only what is new: a run of a recurring search skips what an earlier run of its series delivered.

Before downloading, links whose normalised URL a run delivered are dropped; after, images whose SHA-256
a run delivered, and more links are downloaded in their place. The scraper asked the engines for more
links than the count (as many more as the series has delivered URLs), so the run still gets its count
when the engines have that many new images; the downloads stop there. Once the zip is written the
run's images and URLs join the series' set, as keyed hashes only (shared.series_signing).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from services.packager.download import NotNeeded, Outcome, StoredImage
from services.packager.planning import Plan
from shared.domain.model import Job, Link
from shared.ports import Adapters
from shared.series_signing import image_key, url_key

log = logging.getLogger(__name__)

# Downloads more of the job's links for `wanted` more images (the handler's loop, progress included).
Fetch = Callable[[list[Link], int], list[Outcome]]


def skip_delivered_links(adapters: Adapters, job: Job, links: list[Link]) -> tuple[list[Link], list[Link]]:
    """The links to download, and those an earlier run delivered (by normalised URL)."""
    if not job.series_id or not links:
        return links, []
    secret = adapters.settings.secret_key
    keys = {link.position: url_key(secret, job.series_id, link.url) for link in links}
    delivered = adapters.store.delivered_among(job.series_id, list(keys.values()))
    fresh = [link for link in links if keys[link.position] not in delivered]
    skipped = [link for link in links if keys[link.position] in delivered]
    return fresh, skipped


def _split(adapters: Adapters, series_id: str, outcomes: list[Outcome]) -> tuple[list[Outcome], list[Link]]:
    """The outcomes without the images the series delivered (by SHA-256), and those images' links."""
    secret = adapters.settings.secret_key
    keys = {id(o): image_key(secret, series_id, o.sha256) for o in outcomes if isinstance(o, StoredImage)}
    delivered = adapters.store.delivered_among(series_id, list(keys.values())) if keys else set()
    kept = [o for o in outcomes if keys.get(id(o)) not in delivered]
    return kept, [o.link for o in outcomes if keys.get(id(o)) in delivered]


def skip_delivered_images(
    adapters: Adapters, job: Job, outcomes: list[Outcome], fetch: Fetch
) -> tuple[list[Outcome], list[Link]]:
    """The outcomes to plan the zip from, and the links of images an earlier run delivered (same bytes
    at another URL). The downloads stopped at the job's count, delivered images included: while some
    were skipped and links were left unused, those links are downloaded for the missing ones."""
    if not job.series_id:
        return outcomes, []
    kept, skipped = _split(adapters, job.series_id, outcomes)
    while skipped_now := len(skipped):
        new = len({o.sha256 for o in kept if isinstance(o, StoredImage)})
        unused = [o.link for o in kept if isinstance(o, NotNeeded)]
        if new >= job.count or not unused:
            break
        kept = [o for o in kept if not isinstance(o, NotNeeded)]
        more, again = _split(adapters, job.series_id, fetch(unused, job.count - new))
        kept += more
        skipped += again
        if len(skipped) == skipped_now:
            break  # nothing more was delivered before: the downloads have what they could get
    return kept, sorted(skipped, key=lambda link: link.position)


def only_new(job: Job, package: Plan, delivered: list[Link]) -> Plan:
    """The run's plan with what was skipped as delivered before, for the manifest."""
    if not job.series_id:
        return package
    return replace(package, already_delivered=sorted(delivered, key=lambda link: link.position))


def nothing_new(package: Plan) -> str | None:
    """The failure reason of a run that found only images its series had delivered."""
    if package.entries or not package.already_delivered:
        return None
    skipped = len(package.already_delivered)
    return f"no new images: the {skipped} found had all been delivered by earlier runs of this series"


def remember_delivered(adapters: Adapters, job: Job, package: Plan) -> None:
    """Add what this run delivers to its series' set (before the run is marked ready, so the next run
    cannot start its packaging without it). Identical copies at other URLs count as delivered too."""
    if not job.series_id:
        return
    secret = adapters.settings.secret_key
    keys = [url_key(secret, job.series_id, entry.image.link.url) for entry in package.entries]
    keys += [image_key(secret, job.series_id, entry.image.sha256) for entry in package.entries]
    keys += [url_key(secret, job.series_id, duplicate.image.link.url) for duplicate in package.duplicates]
    adapters.store.remember_delivered(job.series_id, keys)
    log.info("job %s: %d images remembered for series %s", job.id, len(package.entries), job.series_id)
