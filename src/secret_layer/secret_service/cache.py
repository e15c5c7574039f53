"""The pieces of the cache: entries, single-flight slots, counters, and the JSON copy.

Design (see ``docs/api.md``, "How the cache works"):

* The store is a plain ``dict`` read WITHOUT a lock: a hit is one ``dict.get``, one
  clock call and a compare. Writers (misses, evictions, invalidation) take the
  service's lock; in CPython a ``dict`` read concurrent with a write is safe.
* LRU without touching the dict on a hit: a hit stamps ``entry.last_used``; eviction,
  done under the lock when a new entry would exceed ``max_entries``, removes the entry
  with the oldest stamp (an O(n) scan with n <= max_entries, paid only on a miss).
* Single flight: the first miss for a key creates a :class:`Flight`; later misses for
  the same key wait on it; other keys never wait (the API call runs outside the lock).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from secret_service.errors import SecretServiceError

__all__ = ["CacheStats", "Counter", "Entry", "Flight", "copy_json", "is_flat"]


class Entry:
    """One cached secret version. ``value`` is the secret: it never appears in ``repr``."""

    __slots__ = (
        "arn",
        "expires_at",
        "json",
        "last_used",
        "name",
        "stale",
        "stale_until",
        "value",
        "version_id",
        "views",
    )

    def __init__(
        self,
        value: str,
        *,
        expires_at: float,
        stale_until: float,
        now: float,
        arn: str = "",
        name: str = "",
        version_id: str = "",
    ) -> None:
        self.value = value
        self.expires_at = expires_at
        self.stale_until = stale_until
        self.last_used = now
        self.stale = False
        self.arn = arn
        self.name = name
        self.version_id = version_id
        self.json: tuple[dict[str, Any], bool] | None = None  # (parsed, is_flat)
        self.views: dict[type, object] = {}  # typed views, built once per version

    def __repr__(self) -> str:
        return (
            f"Entry(name={self.name!r}, version_id={self.version_id!r}, "
            f"expires_at={self.expires_at:.3f}, stale={self.stale})"
        )


class Flight:
    """The one in-progress fetch of a key; followers wait for its outcome."""

    __slots__ = ("_done", "entry", "error", "stale_error")

    def __init__(self) -> None:
        self._done = threading.Event()
        self.entry: Entry | None = None
        self.error: SecretServiceError | None = None
        self.stale_error: SecretServiceError | None = None  # why a stale entry was served

    @property
    def stale(self) -> bool:
        return self.stale_error is not None

    def succeed(self, entry: Entry, *, stale_error: SecretServiceError | None = None) -> None:
        self.entry = entry
        self.stale_error = stale_error
        self._done.set()

    def fail(self, error: SecretServiceError) -> None:
        self.error = error
        self._done.set()

    def wait(self, *, fresh_only: bool = False) -> Entry:
        """The leader's entry, or a copy of its error (each thread raises its own).

        ``fresh_only`` (a forced read): a stale entry is refused with the API's error.
        """
        self._done.wait()
        error = self.error or (self.stale_error if fresh_only else None)
        if error is not None:
            raise _copy_error(error) from error.__cause__
        assert self.entry is not None
        return self.entry


def _copy_error(error: SecretServiceError) -> SecretServiceError:
    clone = error.__class__.__new__(error.__class__)
    clone.args = error.args
    clone.__dict__.update(error.__dict__)
    return clone


class Counter:
    """A thread-safe counter: ``itertools.count.__next__`` is atomic in CPython."""

    __slots__ = ("_count", "inc")

    def __init__(self) -> None:
        self._count = itertools.count()
        self.inc = self._count.__next__

    @property
    def value(self) -> int:
        # count's repr is "count(N)": N is the next value, i.e. how many times inc ran.
        return int(repr(self._count)[6:-1])


@dataclass(frozen=True, slots=True)
class CacheStats:
    """A snapshot of a service's counters (``SecretService.stats()``)."""

    hits: int
    misses: int
    api_calls: int
    api_errors: int
    retries: int
    errors: int
    evictions: int
    stale_served: int
    coalesced: int
    entries: int

    @property
    def hit_ratio(self) -> float:
        reads = self.hits + self.misses
        return self.hits / reads if reads else 0.0


_SCALARS = (str, int, float, bool, type(None))


def is_flat(document: dict[str, Any]) -> bool:
    """True when no value is a dict or list, so a shallow copy is a full copy."""
    return all(isinstance(v, _SCALARS) for v in document.values())


def copy_json(value: Any) -> Any:
    """A deep copy of a parsed JSON value (dicts, lists and immutable scalars only)."""
    if isinstance(value, dict):
        return {k: copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_json(v) for v in value]
    return value
