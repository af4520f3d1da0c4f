"""The Django cache on Redis, where a Redis that is down, hung or refusing writes is a cache miss, never an
error page.

Nothing in the portal depends on the cache for correctness (the home figures and guideline fragments are
recomputed on a miss), so while Redis is away the cache behaves as an empty cache that forgets every
write. That includes `add()`, which answers True: allauth's rate limiter takes its lock with `add()`, and
this makes the limiter fail open (see ACCOUNT_RATE_LIMITS in settings for why that is the right way round).
"""

import datetime
import logging
import threading
import time
from collections import OrderedDict

import redis
from django.core.cache import cache
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from django.utils import timezone

logger = logging.getLogger(__name__)

# After a failure this process leaves Redis alone for a few seconds: a hung Redis then costs one socket
# timeout per interval instead of one per cache call (a login makes a dozen), and the outage is logged
# once per interval instead of on every call.
DEFAULT_RETRY_AFTER = 5.0

_MISS = object()


class FailSoftRedisCache(RedisCache):
    """Django's RedisCache; every Redis error is logged at warning and answered as a miss.

    OPTIONS takes `RETRY_AFTER` (seconds to skip Redis after an error) besides redis-py's own options.
    """

    def __init__(self, server, params):
        options = dict(params.get("OPTIONS") or {})
        self.retry_after = float(options.pop("RETRY_AFTER", DEFAULT_RETRY_AFTER))
        super().__init__(server, {**params, "OPTIONS": options})
        self._skip_until = 0.0

    def _attempt(self, operation, *args, miss):
        if time.monotonic() < self._skip_until:
            return miss
        try:
            return operation(*args)
        except redis.RedisError as exc:
            self._skip_until = time.monotonic() + self.retry_after
            logger.warning(
                "Cache unavailable, serving without it for %ss: %s: %s", self.retry_after, type(exc).__name__, exc
            )
            return miss

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._attempt(super().add, key, value, timeout, version, miss=True)

    def get(self, key, default=None, version=None):
        return self._attempt(super().get, key, default, version, miss=default)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._attempt(super().set, key, value, timeout, version, miss=None)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._attempt(super().touch, key, timeout, version, miss=False)

    def delete(self, key, version=None):
        return self._attempt(super().delete, key, version, miss=False)

    def get_many(self, keys, version=None):
        return self._attempt(super().get_many, keys, version, miss={})

    def has_key(self, key, version=None):
        return self._attempt(super().has_key, key, version, miss=False)

    def incr(self, key, delta=1, version=None):
        value = self._attempt(super().incr, key, delta, version, miss=_MISS)
        if value is _MISS:
            raise ValueError(f"Key '{key}' not found.")  # Django's answer for a missing key
        return value

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        # Django's contract: the keys that could not be stored.
        return self._attempt(super().set_many, data, timeout, version, miss=list(data))

    def delete_many(self, keys, version=None):
        return self._attempt(super().delete_many, keys, version, miss=None)

    def clear(self):
        return self._attempt(super().clear, miss=False)


# Staff figures (dashboard, retention) are read many times a day and change slowly: ten minutes old is fresh
# enough, and the page shows when they were computed, with a button to compute them again.
STAFF_FIGURES_SECONDS = 10 * 60


def cached_figures(key: str, compute, *, refresh: bool = False, timeout: int = STAFF_FIGURES_SECONDS):
    """`(figures, computed_at)`: from the cache, or computed now and stored. `refresh` computes them again
    whatever the cache holds. With Redis away every call computes (the cache answers every read as a miss)."""
    if not refresh:
        entry = cache.get(key)
        # Checked here too, not left to Redis's expiry alone, so the age shown on the page never passes the limit.
        if entry is not None and timezone.now() - entry[1] < datetime.timedelta(seconds=timeout):
            return entry
    entry = (compute(), timezone.now())
    cache.set(key, entry, timeout)
    return entry


class LocalLRU:
    """A bounded in-process mapping, least recently used out first, for what every request of a worker asks
    again and Redis would only hand back unchanged (the shared page header, a cached public page's bytes).
    Bounded by entries and by the total of `weight(value)`; a lock because gthread workers share it."""

    def __init__(self, max_items, max_weight=None, weight=None):
        self.max_items = max_items
        self.max_weight = max_weight
        self.weight = weight or (lambda value: 0)
        self._items = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            self._items.move_to_end(key)
            return found[0]

    def set(self, key, value):
        weight = self.weight(value)
        if self.max_weight is not None and weight > self.max_weight // 8:
            return  # one huge value would push out everything else
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._total -= old[1]
            self._items[key] = (value, weight)
            self._total += weight
            while len(self._items) > self.max_items or (self.max_weight is not None and self._total > self.max_weight):
                _key, (_value, dropped) = self._items.popitem(last=False)
                self._total -= dropped

    def clear(self):
        with self._lock:
            self._items.clear()
            self._total = 0

    def __len__(self):
        return len(self._items)
