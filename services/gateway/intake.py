"""Where submissions come in: each attempt counted against the rate limits, each valid one stored.

A gunicorn worker's threads receive submissions at once, and alone each would pay the store several
round trips (its rate-limit marks, their counts, the suppression list, its job). The attempts that
arrive while the worker's previous ones are with the store go to it together as the next group
(shared.coalescer): a few requests for the group, not a few for each. A quiet gateway sends
each attempt at once, alone. Each thread then publishes its own job's `job.due`, so the broker's
confirms overlap (shared.adapters.rabbitmq.publisher.PublisherPool).

If a group's store calls fail, each of its attempts is tried again alone, so that one bad attempt fails
by itself. An attempt keeps its job's id, so a job the failed group did write (a timeout is no proof
it was not) is written again, not twice; its rate-limit hits may count twice: a refusal too many, never
a job too many.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from services.gateway.commands import Unsubscribed, announce_job, new_id, store_jobs
from services.gateway.ratelimit import Limits, Refusal
from shared.coalescer import Coalescer
from shared.domain.model import Job
from shared.domain.submission import Submission
from shared.ports import Adapters

# Attempts in one group at most: their rate-limit marks and jobs still make small batches.
GROUP_AT_MOST = 32

# What became of an attempt: refused by a limit, refused for an unsubscribed mailbox, stored as a job,
# or None for an invalid submission (counted against its address, and told what is wrong with it).
Outcome = Refusal | Unsubscribed | Job | None


@dataclass(frozen=True)
class Attempt:
    """A submission attempt from `address`: its valid submission, or None if it was invalid, and the
    id its job (or series) gets: made once, so that storing the attempt again stores the same job."""

    address: str
    submission: Submission | None
    id: str = field(default_factory=new_id)


class Intake:
    """Counts and stores the submission attempts of a gateway process, its threads' together."""

    def __init__(self, adapters: Adapters, limits: Limits) -> None:
        self._adapters = adapters
        self._limits = limits
        self._groups: Coalescer[Attempt, Outcome] = Coalescer(self._take, max_batch=GROUP_AT_MOST)

    def arriving(self) -> AbstractContextManager[None]:
        """Around checking a submission whose body has been read: a group about to go to the store
        waits a moment for it (see Coalescer.coming)."""
        return self._groups.coming()

    def submit(self, address: str, submission: Submission | None) -> Outcome:
        """Count the attempt (valid or not: each costs us work) and, if it is valid and within the
        limits, store its job and publish its `job.due`."""
        outcome = self._groups.call(Attempt(address, submission))
        if isinstance(outcome, Job):
            announce_job(self._adapters, outcome)
        return outcome

    def _take(self, attempts: Sequence[Attempt]) -> list[Outcome]:
        refusals = self._limits.admit_all(
            [(attempt.address, attempt.submission.email if attempt.submission else None) for attempt in attempts]
        )
        admitted = [
            (attempt.submission, attempt.id)
            for attempt, refusal in zip(attempts, refusals, strict=True)
            if refusal is None and attempt.submission is not None
        ]
        stored = iter(store_jobs(self._adapters, [each for each, _ in admitted], [given for _, given in admitted]))
        return [
            refusal if refusal is not None or attempt.submission is None else next(stored)
            for attempt, refusal in zip(attempts, refusals, strict=True)
        ]
