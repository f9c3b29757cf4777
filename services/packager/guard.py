"""The private-address guard of the downloader: shared.address_guard, where the webhooks worker finds it too."""

from shared.address_guard import (
    CARRIES_IPV4,
    RANGES,
    AddressPolicy,
    BlockedAddress,
    GuardedHTTPConnection,
    GuardedHTTPSConnection,
    GuardedPoolManager,
    IPAddress,
    IPNetwork,
    Range,
    check_address,
    guarded_pool,
    range_of,
    refusal,
)

__all__ = [
    "CARRIES_IPV4",
    "RANGES",
    "AddressPolicy",
    "BlockedAddress",
    "GuardedHTTPConnection",
    "GuardedHTTPSConnection",
    "GuardedPoolManager",
    "IPAddress",
    "IPNetwork",
    "Range",
    "check_address",
    "guarded_pool",
    "range_of",
    "refusal",
]
