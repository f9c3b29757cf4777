"""One try of a webhook delivery over HTTP: behind the private-address guard, no redirects followed.

The pool is plain urllib3 through shared.address_guard, as for the packager's downloads: the address the
socket connects to is checked (no DNS-rebinding gap), no proxy or .netrc from the environment, no
retries of its own (the delay ladder retries), and a redirect is answered as it is, never followed.
"""

from __future__ import annotations

from dataclasses import dataclass

from urllib3.exceptions import HTTPError
from urllib3.util.timeout import Timeout

from shared.address_guard import AddressPolicy, BlockedAddress, guarded_pool
from shared.domain.webhooks import Outcome, outcome_of


@dataclass(frozen=True)
class TryResult:
    outcome: Outcome
    detail: str  # for the log: a status code or the kind of error, never the URL


class WebhookSender:
    """POSTs deliveries; `timeout` bounds the connection and the answer together."""

    def __init__(self, policy: AddressPolicy, timeout: float) -> None:
        self._pool = guarded_pool(policy, num_pools=32, maxsize=4)
        self._timeout = timeout

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> TryResult:
        try:
            answer = self._pool.request(
                "POST",
                url,
                body=body,
                headers=headers,
                redirect=False,
                retries=False,
                timeout=Timeout(total=self._timeout),
                preload_content=False,
            )
        except BlockedAddress as refused:
            return TryResult(Outcome.REFUSED, f"refused: {refused}")
        except (HTTPError, OSError, ValueError) as exc:
            # Timeouts, refused connections, TLS and protocol errors: all worth another try later.
            return TryResult(Outcome.RETRY, type(exc).__name__)
        # The status decides the try; the body is not read (a receiver dripping it slowly would hold the
        # worker past the timeout) and the connection is closed rather than reused with it unread.
        answer.close()
        return TryResult(outcome_of(answer.status), f"HTTP {answer.status}")

    def close(self) -> None:
        self._pool.clear()
