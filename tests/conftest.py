"""What every suite shares: the event contract is checked on every publish, in this process and in every
process the tests start (they inherit the environment), and a test during which a published event broke
its schema fails, even when the publisher swallowed the error (a handler on a bus thread)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from shared import event_contract

os.environ[event_contract.ENV_VAR] = "1"


@pytest.fixture(autouse=True)
def _events_keep_their_contract() -> Iterator[None]:
    event_contract.take_violations()
    yield
    broken = event_contract.take_violations()
    assert not broken, "published events broke their schemas (schemas/events):\n" + "\n".join(broken)
