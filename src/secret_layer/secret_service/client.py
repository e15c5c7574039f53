"""``SecretService``: cached, single-flight, retried, typed reads of Secrets Manager.

Nothing here imports boto3: the adapter (:mod:`secret_service.aws`) is imported on the
first miss, and the default client is created then, once per service.
"""

from __future__ import annotations

import logging
import os
import random as _random
import threading
import time
from collections.abc import Iterable
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from secret_service.cache import CacheStats, Counter, Entry, Flight, copy_json, is_flat
from secret_service.config import RetryPolicy, ServiceConfig, check_range
from secret_service.errors import (
    DatabaseAuthError,
    SecretAccessDeniedError,
    SecretConfigError,
    SecretDecryptionError,
    SecretFormatError,
    SecretNotFoundError,
    SecretServiceError,
    SecretThrottledError,
    SecretUnavailableError,
)
from secret_service.models import (
    DatabaseCredentials,
    ExternalApiCredentials,
    ExternalApis,
    JwtConfig,
    parse_secret_json,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import ModuleType

    from mypy_boto3_secretsmanager import SecretsManagerClient
    from pymysql.connections import Connection

    from secret_service.aws import FetchedSecret

__all__ = [
    "AWSCURRENT",
    "AWSPENDING",
    "AWSPREVIOUS",
    "MetricsHook",
    "SecretService",
    "get_default_service",
    "reset_default_service",
]

AWSCURRENT = "AWSCURRENT"
AWSPREVIOUS = "AWSPREVIOUS"
AWSPENDING = "AWSPENDING"

logger = logging.getLogger("secret_service")

_RETRYABLE = (SecretThrottledError, SecretUnavailableError)
# "you may not read this": a cached value of that key must not outlive the answer
_REFUSALS = (SecretNotFoundError, SecretAccessDeniedError, SecretDecryptionError)
_Model = TypeVar("_Model", DatabaseCredentials, JwtConfig, ExternalApis)
_Key = str | tuple[str, str]
_T = TypeVar("_T")


class MetricsHook(Protocol):
    """Receives ``(event, secret_id, value)``; events and values:

    ``"hit"`` 1, ``"miss"`` 1, ``"stale"`` 1 (a value served past its TTL because the API
    failed), ``"error"`` 1 (a typed error raised to the caller), ``"fetch_latency_ms"``
    the duration of one read from the API, retries included.
    """

    def __call__(self, event: str, secret_id: str, value: float) -> None: ...


class SecretService:
    """Reads secrets through a TTL + LRU cache. Thread-safe; one per container.

    ``client`` is a boto3 Secrets Manager client; ``None`` makes one on first use, with
    short timeouts and botocore's retries off (this service retries, see
    :class:`~secret_service.config.RetryPolicy`). Options are keyword-only; ``clock``,
    ``sleep`` and ``random`` are parameters so tests never wait.
    """

    def __init__(
        self,
        client: SecretsManagerClient | None = None,
        *,
        ttl_s: float = 300.0,
        max_entries: int = 100,
        max_stale_s: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        random: Callable[[], float] = _random.random,
        jitter_ratio: float = 0.1,
        max_attempts: int = 8,
        max_total_s: float = 5.0,
        base_delay_s: float = 0.05,
        max_delay_s: float = 1.0,
        stale_retry_s: float = 5.0,
        connect_timeout_s: float = 2.0,
        read_timeout_s: float = 5.0,
        ca_bundle_path: str | None = None,
        metrics: MetricsHook | None = None,
    ) -> None:
        self._config = ServiceConfig(
            ttl_s=ttl_s,
            max_entries=max_entries,
            max_stale_s=max_stale_s,
            max_attempts=max_attempts,
            max_total_s=max_total_s,
            connect_timeout_s=connect_timeout_s,
            read_timeout_s=read_timeout_s,
            ca_bundle_path=ca_bundle_path,
        )
        self._retry = RetryPolicy(
            max_attempts=max_attempts,
            max_total_s=max_total_s,
            base_delay_s=base_delay_s,
            max_delay_s=max_delay_s,
        )
        check_range("jitter_ratio", jitter_ratio, low=0, high=1, source="jitter_ratio")
        if jitter_ratio == 1:
            raise SecretConfigError(
                "jitter_ratio must be below 1 (got 1): it would allow a 0 s TTL"
            )
        check_range("stale_retry_s", stale_retry_s, low=0, high=3600, source="stale_retry_s")
        hooks = {"clock": clock, "sleep": sleep, "random": random}
        for name, hook in {**hooks, "metrics": metrics or (lambda *_: None)}.items():
            if not callable(hook):
                raise SecretConfigError(
                    f"{name} must be a callable (got {type(hook).__name__})"
                    + ("; pass None for no metrics" if name == "metrics" else "")
                )
        if client is not None and not callable(getattr(client, "get_secret_value", None)):
            raise SecretConfigError(
                "client must be a boto3 Secrets Manager client "
                "(boto3.client('secretsmanager')), or None for the default one "
                f"(got {type(client).__name__})"
            )
        self._client = client
        self._ttl_s = float(ttl_s)
        self._max_entries = max_entries
        self._max_stale_s = float(max_stale_s)
        self._jitter_ratio = jitter_ratio
        self._stale_retry_s = stale_retry_s
        self._clock = clock
        self._sleep = sleep
        self._random = random
        self._metrics = metrics
        self._ca_bundle_path = ca_bundle_path
        self._ca_bundle_read = ca_bundle_path is not None
        self._aws: ModuleType | None = None

        self._entries: dict[_Key, Entry] = {}
        self._flights: dict[_Key, Flight] = {}
        # bumped by every invalidate(): a fetch that began before it must not refill the
        # cache with what it read (the caller invalidated because that value is wrong)
        self._generation = 0
        self._lock = threading.Lock()
        self._client_lock = threading.Lock()

        self._hits = Counter()
        self._misses = Counter()
        self._api_calls = Counter()
        self._api_errors = Counter()
        self._retries = Counter()
        self._errors = Counter()
        self._evictions = Counter()
        self._stale_served = Counter()
        self._coalesced = Counter()

    @classmethod
    def from_config(
        cls,
        config: ServiceConfig,
        client: SecretsManagerClient | None = None,
        **options: Any,
    ) -> SecretService:
        """A service with ``config``'s settings (e.g. ``ServiceConfig.from_env()``).

        ``options`` are the other constructor options (``clock``, ``metrics``...); one
        that is also a setting of ``config`` (``ttl_s``...) overrides it.
        """
        settings: dict[str, Any] = {
            "ttl_s": config.ttl_s,
            "max_entries": config.max_entries,
            "max_stale_s": config.max_stale_s,
            "max_attempts": config.max_attempts,
            "max_total_s": config.max_total_s,
            "connect_timeout_s": config.connect_timeout_s,
            "read_timeout_s": config.read_timeout_s,
            "ca_bundle_path": config.ca_bundle_path,
        }
        return cls(client, **(settings | options))

    def __repr__(self) -> str:
        return (
            f"SecretService(ttl_s={self._ttl_s:g}, max_entries={self._max_entries}, "
            f"entries={len(self._entries)})"
        )

    # -- reading ----------------------------------------------------------------------

    def get_secret_string(
        self,
        secret_id: str,
        *,
        version_stage: str = AWSCURRENT,
        force_refresh: bool = False,
    ) -> str:
        """The secret's ``SecretString`` for ``version_stage``.

        A hit is a dict lookup and a clock compare, no lock. ``force_refresh=True``
        always reads from the API (joining a read already in flight for the same
        version) and never serves a stale value: a failure raises.
        """
        # The hit path of _entry(), inlined: one call less is ~10 % of a hit (measured).
        if not force_refresh:
            try:
                entry = self._entries.get(
                    secret_id if version_stage == AWSCURRENT else (secret_id, version_stage)
                )
            except TypeError:  # an unhashable id: _load raises the typed error
                entry = None
            if entry is not None:
                now = self._clock()
                if now < entry.expires_at:
                    entry.last_used = now
                    self._hits.inc()
                    if entry.stale or self._metrics is not None:
                        self._note_hit(entry, secret_id)
                    return entry.value
        return self._load(secret_id, version_stage, force_refresh=force_refresh).value

    def get_secret_json(
        self,
        secret_id: str,
        *,
        version_stage: str = AWSCURRENT,
        force_refresh: bool = False,
    ) -> dict[str, Any]:
        """The secret parsed as a JSON object: a fresh ``dict`` the caller owns.

        The parsed document is cached with the entry; each call returns a copy (a
        shallow ``dict.copy()`` when no value is nested, else a JSON-aware deep copy),
        so changing the result never changes what the next caller reads.
        """
        entry = self._entry(secret_id, version_stage, force_refresh)
        parsed = entry.json
        if parsed is None:
            document = parse_secret_json(entry.value, secret_id=secret_id)
            parsed = entry.json = (document, is_flat(document))
        document, flat = parsed
        return document.copy() if flat else copy_json(document)

    def get_database_credentials(
        self, secret_id: str, *, version_stage: str = AWSCURRENT, force_refresh: bool = False
    ) -> DatabaseCredentials:
        """The secret as :class:`DatabaseCredentials` (the RDS JSON format)."""
        return self._typed(DatabaseCredentials, secret_id, version_stage, force_refresh)

    def get_jwt_config(
        self, secret_id: str, *, version_stage: str = AWSCURRENT, force_refresh: bool = False
    ) -> JwtConfig:
        """The secret as :class:`JwtConfig` (the JWT signing settings)."""
        return self._typed(JwtConfig, secret_id, version_stage, force_refresh)

    def get_external_api_credentials(
        self,
        secret_id: str,
        *,
        name: str | None = None,
        version_stage: str = AWSCURRENT,
        force_refresh: bool = False,
    ) -> ExternalApiCredentials:
        """One external API's credentials (Bedrock, SES, others by name).

        The secret holds ``{"<name>": {...}, ...}`` (or one flat ``{"provider", ...}``
        document); ``name`` picks the entry, and may be left out when there is one.
        """
        if name is None:
            apis = self._typed(ExternalApis, secret_id, version_stage, force_refresh)
            return apis.select(None, secret_id=secret_id)
        if not isinstance(name, str) or not name:
            raise SecretConfigError(
                f"name must be an external API's entry name such as 'ses' (got {name!r})"
            )
        entry = self._entry(secret_id, version_stage, force_refresh)
        # only the entry asked for is validated, once per version and name
        by_name: dict[str, ExternalApiCredentials] = entry.views.setdefault(  # type: ignore[assignment]
            ExternalApiCredentials, {}
        )
        creds = by_name.get(name)
        if creds is None:
            document = self._document(entry, secret_id)
            creds = by_name[name] = ExternalApis.select_from_mapping(
                document, name, secret_id=secret_id
            )
        return creds

    def get_external_apis(
        self, secret_id: str, *, version_stage: str = AWSCURRENT, force_refresh: bool = False
    ) -> ExternalApis:
        """Every external API the secret holds, validated, by name."""
        return self._typed(ExternalApis, secret_id, version_stage, force_refresh)

    def get_jwt_verification_keys(self, secret_id: str) -> tuple[JwtConfig, ...]:
        """The JWT configs that may verify a token: AWSCURRENT, then AWSPREVIOUS.

        Tokens signed just before a rotation still verify with the previous key. The
        pair is computed once per cached AWSCURRENT version: when AWSCURRENT changes,
        AWSPREVIOUS is read again with it (so the pair never mixes generations), and a
        missing AWSPREVIOUS costs one call per version, not one per request.
        """
        entry = self._entry(secret_id, AWSCURRENT, False)
        cached: tuple[tuple[JwtConfig, ...], float | None] | None = entry.views.get(  # type: ignore[assignment]
            _JwtVerificationKeys
        )
        if cached is not None and (cached[1] is None or self._clock() < cached[1]):
            return cached[0]
        current = self._view(JwtConfig, entry, secret_id)
        retry_at = None
        try:
            previous = self._previous_jwt(secret_id, current)
        except _RETRYABLE as exc:
            # AWSPREVIOUS only lets older tokens verify: an outage of it must not stop
            # the current key from verifying. Asked again after stale_retry_s.
            previous = ()
            retry_at = self._clock() + self._stale_retry_s
            logger.warning(
                "previous JWT version unavailable, verifying with the current key only",
                extra={
                    "secret_id": secret_id,
                    "version_stage": AWSPREVIOUS,
                    "error_code": exc.code,
                    "retry_in_s": self._stale_retry_s,
                },
            )
        keys = (current, *previous)
        entry.views[_JwtVerificationKeys] = (keys, retry_at)
        return keys

    def _previous_jwt(self, secret_id: str, current: JwtConfig) -> tuple[JwtConfig, ...]:
        previous_entry = self._optional_entry(secret_id, AWSPREVIOUS)
        if previous_entry is None:
            return ()
        try:
            previous = self._view(JwtConfig, previous_entry, secret_id)
        except SecretFormatError as exc:
            logger.warning(
                "previous JWT version ignored",
                extra={"secret_id": secret_id, "field": exc.field, "version_stage": AWSPREVIOUS},
            )
            return ()
        return () if previous.signing_key == current.signing_key else (previous,)

    def get_many(self, secret_ids: Iterable[str]) -> dict[str, str]:
        """Several secrets' AWSCURRENT strings; misses read with BatchGetSecretValue.

        Cached ids cost nothing; the rest are read 20 per call. When some ids fail, the
        others are still cached, and the error of the first failing id (in the order
        given) is raised, naming it and counting the rest.
        """
        if isinstance(secret_ids, str | bytes):
            raise SecretConfigError(
                "secret_ids must be a list of secret names or ARNs, not one string; "
                f"use [{secret_ids!r}] or get_secret_string()"
            )
        if not isinstance(secret_ids, Iterable):
            raise SecretConfigError(
                "secret_ids must be a list of secret names or ARNs "
                f"(got {type(secret_ids).__name__})"
            )
        given = list(secret_ids)
        for secret_id in given:  # before dict.fromkeys, which a list id makes a TypeError
            _check_id(secret_id, AWSCURRENT)
        ids = list(dict.fromkeys(given))
        result: dict[str, str] = {}
        missing: list[str] = []
        now = self._clock()
        for secret_id in ids:
            entry = self._entries.get(secret_id)
            if entry is not None and now < entry.expires_at:
                entry.last_used = now
                self._hits.inc()
                self._note_hit(entry, secret_id)
                result[secret_id] = entry.value
            else:
                missing.append(secret_id)
        errors: dict[str, SecretServiceError] = {}
        for secret_id in missing:
            self._misses.inc()
            self._emit("miss", secret_id, 1.0)
        for start in range(0, len(missing), _batch_limit()):
            chunk = missing[start : start + _batch_limit()]
            try:
                values, chunk_errors = self._load_batch(chunk)
            except SecretServiceError:  # the whole call refused (denied, bad request)
                self._errors.inc()
                self._emit("error", chunk[0], 1.0)
                raise
            result.update(values)
            errors.update(chunk_errors)
        if errors:
            first_id = next(i for i in ids if i in errors)
            first = errors[first_id]
            others = [i for i in ids if i in errors and i != first_id]
            self._errors.inc()
            self._emit("error", first_id, 1.0)
            suffix = f"; {len(others)} other secret(s) also failed: {', '.join(others)}"
            error = _copy_with_message(first, str(first) + (suffix if others else ""))
            raise error from first
        return {secret_id: result[secret_id] for secret_id in ids}

    def preload(self, secret_ids: Iterable[str]) -> None:
        """Warm the cache (e.g. at init): BatchGetSecretValue for the ids not cached."""
        self.get_many(secret_ids)

    @contextmanager
    def database_connection(
        self, secret_id: str, **connect_options: Any
    ) -> Iterator[Connection[Any]]:
        """A PyMySQL connection logged in with the secret's credentials; closed on exit.

        ``connect_options`` go to :func:`secret_service.mysql.connect`
        (``ca_bundle_path``, ``connect_timeout_s``, ...); the CA bundle defaults to the
        service's ``ca_bundle_path``, else ``RDS_CA_BUNDLE`` read at first use. When the
        server refuses the login (MySQL 1045) the cached credentials are dropped and
        AWSCURRENT is read again once; if it has not changed, AWSPENDING is tried (the
        window of a single-user rotation between setSecret and finishSecret). One retry,
        then :class:`DatabaseAuthError`.
        """
        from secret_service import mysql

        connect_options.setdefault("ca_bundle_path", self._ca_bundle())
        entry = self._entry(secret_id, AWSCURRENT, False)
        credentials = entry.views.get(_WorkingLogin)  # AWSPENDING, inside a rotation window
        if not isinstance(credentials, DatabaseCredentials):
            credentials = self._view(DatabaseCredentials, entry, secret_id)
        try:
            connection = mysql.connect(credentials, secret_id=secret_id, **connect_options)
        except DatabaseAuthError as refused:
            retry_with = self._credentials_after_refusal(secret_id, credentials)
            if retry_with is None:
                raise
            stage, fresh, current_entry = retry_with
            logger.warning(
                "database login refused, retrying with refetched credentials",
                extra={
                    "secret_id": secret_id,
                    "version_stage": stage,
                    "username": fresh.username,
                    "host": fresh.host,
                    "error_code": refused.code,
                },
            )
            connection = mysql.connect(fresh, secret_id=secret_id, **connect_options)
            if stage == AWSPENDING:
                # Until AWSCURRENT's cached version changes, log in with what worked
                # instead of being refused (and reading the API twice) per connection.
                current_entry.views[_WorkingLogin] = fresh
        try:
            yield connection
        finally:
            if connection.open:  # the caller may have closed it already
                connection.close()

    # -- cache management ---------------------------------------------------------------

    def invalidate(self, secret_id: str | None = None) -> None:
        """Forget one secret (every version stage, by the id, name, ARN or partial ARN) or all."""
        if secret_id is not None and (not isinstance(secret_id, str) or not secret_id.strip()):
            raise SecretConfigError(
                "secret_id must be one secret name or ARN, or None for every secret "
                f"(got {type(secret_id).__name__}); call invalidate() once per secret"
            )
        with self._lock:
            self._generation += 1
            if secret_id is None:
                self._entries.clear()
                self._flights.clear()  # later readers start a fresh read, not join these
                return
            for store in (self._entries, self._flights):
                for key in [k for k in store if _key_id(k) == secret_id]:
                    del store[key]
            for key in [
                k for k, e in self._entries.items() if e.arn and _names(secret_id, e.name, e.arn)
            ]:
                del self._entries[key]

    def stats(self) -> CacheStats:
        """A snapshot of the counters (hits, misses, API calls, stale served...)."""
        return CacheStats(
            hits=self._hits.value,
            misses=self._misses.value,
            api_calls=self._api_calls.value,
            api_errors=self._api_errors.value,
            retries=self._retries.value,
            errors=self._errors.value,
            evictions=self._evictions.value,
            stale_served=self._stale_served.value,
            coalesced=self._coalesced.value,
            entries=len(self._entries),
        )

    # -- internals: the miss path --------------------------------------------------------

    def _entry(self, secret_id: str, version_stage: str, force_refresh: bool) -> Entry:
        if not force_refresh:
            try:
                entry = self._entries.get(
                    secret_id if version_stage == AWSCURRENT else (secret_id, version_stage)
                )
            except TypeError:  # an unhashable id: _load raises the typed error
                entry = None
            if entry is not None:
                now = self._clock()
                if now < entry.expires_at:
                    entry.last_used = now
                    self._hits.inc()
                    if entry.stale or self._metrics is not None:
                        self._note_hit(entry, secret_id)
                    return entry
        return self._load(secret_id, version_stage, force_refresh=force_refresh)

    def _load(
        self, secret_id: str, version_stage: str, *, force_refresh: bool, optional: bool = False
    ) -> Entry:
        _check_id(secret_id, version_stage)
        key: _Key = secret_id if version_stage == AWSCURRENT else (secret_id, version_stage)
        with self._lock:
            entry = self._entries.get(key)
            now = self._clock()
            if not force_refresh and entry is not None and now < entry.expires_at:
                entry.last_used = now  # filled by another thread since our lock-free look
                self._hits.inc()
                self._note_hit(entry, secret_id)
                return entry
            self._misses.inc()
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = Flight()
            generation = self._generation
        self._emit("miss", secret_id, 1.0)
        if not leader:
            self._coalesced.inc()
            try:
                entry = flight.wait(fresh_only=force_refresh)
            except _RETRYABLE as exc:
                # a forced leader never falls back to stale; a plain follower may
                stale_entry = None if force_refresh else self._stale_entry(key, secret_id, exc)
                if stale_entry is None:
                    self._errors.inc()
                    raise
                return stale_entry
            except SecretServiceError:
                self._errors.inc()
                raise
            if flight.stale:
                self._served_stale(entry, secret_id)
            return entry
        try:
            entry, stale_error = self._fetch_into_cache(
                key, secret_id, version_stage, force_refresh, generation, keep=not optional
            )
        except SecretServiceError as exc:
            flight.fail(exc)
            if not (optional and isinstance(exc, SecretNotFoundError)):
                self._errors.inc()
                self._emit("error", secret_id, 1.0)
            raise
        except BaseException:  # never leave followers waiting
            flight.fail(SecretServiceError(f"reading secret {secret_id} was interrupted"))
            raise
        finally:
            with self._lock:
                if self._flights.get(key) is flight:  # invalidate() may have replaced it
                    del self._flights[key]
        flight.succeed(entry, stale_error=stale_error)
        return entry

    def _fetch_into_cache(
        self,
        key: _Key,
        secret_id: str,
        version_stage: str,
        force_refresh: bool,
        generation: int,
        *,
        keep: bool = True,
    ) -> tuple[Entry, SecretServiceError | None]:
        """The fetched entry, or a stale one with the error that made it stale.

        ``keep=False``: the entry is returned, not cached (its caller caches what it
        derives from it on the AWSCURRENT entry instead).
        """
        started = self._clock()
        try:
            fetched = self._with_retries(
                lambda aws, client: aws.get_secret_value(client, secret_id, version_stage),
                secret_id,
            )
        except _RETRYABLE as exc:
            if not force_refresh:
                entry = self._stale_entry(key, secret_id, exc)
                if entry is not None:
                    return entry, exc
            raise
        except _REFUSALS:
            self._forget(key)
            raise
        finally:
            self._emit("fetch_latency_ms", secret_id, (self._clock() - started) * 1000.0)
        return self._store(key, fetched, generation, keep=keep), None

    def _forget(self, key: _Key) -> None:
        """Drop a value the API now refuses: never served again, stale or not."""
        with self._lock:
            self._entries.pop(key, None)

    def _stale_entry(self, key: _Key, secret_id: str, error: SecretServiceError) -> Entry | None:
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if now > entry.stale_until:
                del self._entries[key]  # too old to serve: the caller gets the error
                return None
            entry.stale = True
            entry.expires_at = min(now + self._stale_retry_s, entry.stale_until)
        logger.warning(
            "stale secret served",
            extra={
                "secret_id": secret_id,
                "version_id": entry.version_id,
                "error_code": error.code,
                "stale_for_s": round(now - entry.stale_until + self._max_stale_s, 3),
                "max_stale_s": self._max_stale_s,
            },
        )
        self._served_stale(entry, secret_id)
        return entry

    def _store(
        self, key: _Key, fetched: FetchedSecret, generation: int, *, keep: bool = True
    ) -> Entry:
        """Cache what was fetched, unless invalidate() ran since the fetch began."""
        now = self._clock()
        ttl_s = self._ttl_s * (1.0 - self._jitter_ratio * self._random())
        entry = Entry(
            fetched.secret_string,
            expires_at=now + ttl_s,
            stale_until=now + ttl_s + self._max_stale_s,
            now=now,
            arn=fetched.arn,
            name=fetched.name,
            version_id=fetched.version_id,
        )
        if not keep:
            return entry
        with self._lock:
            if generation != self._generation:
                return entry  # the caller gets it; the cache does not keep it
            if key not in self._entries:
                while len(self._entries) >= self._max_entries:
                    oldest = min(self._entries, key=lambda k: self._entries[k].last_used)
                    del self._entries[oldest]
                    self._evictions.inc()
                    logger.debug("secret evicted", extra={"secret_id": _key_id(oldest)})
            self._entries[key] = entry
        return entry

    def _with_retries(self, call: Callable[[ModuleType, Any], _T], secret_id: str) -> _T:
        aws, client = self._adapter()
        policy = self._retry
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            self._api_calls.inc()
            try:
                result = call(aws, client)
            except _RETRYABLE as exc:
                self._api_errors.inc()
                elapsed_s = self._clock() - started
                delay_s = policy.delay_s(attempt, random=self._random)
                if attempt >= policy.max_attempts or elapsed_s + delay_s > policy.max_total_s:
                    exc.args = (
                        f"{exc.args[0]}; gave up after {attempt} attempt(s) in "
                        f"{elapsed_s * 1000:.0f} ms",
                        *exc.args[1:],
                    )
                    raise
                logger.info(
                    "secret read retried",
                    extra={
                        "secret_id": secret_id,
                        "attempt": attempt,
                        "error_code": exc.code,
                        "delay_ms": round(delay_s * 1000, 1),
                    },
                )
                self._retries.inc()
                self._sleep(delay_s)
            except SecretServiceError:
                self._api_errors.inc()
                raise
            else:
                logger.debug(
                    "secret read",
                    extra={
                        "secret_id": secret_id,
                        "attempts": attempt,
                        "latency_ms": round((self._clock() - started) * 1000, 2),
                    },
                )
                return result

    def _load_batch(self, chunk: list[str]) -> tuple[dict[str, str], dict[str, SecretServiceError]]:
        generation = self._generation
        try:
            fetched, errors = self._with_retries(
                lambda aws, client: aws.batch_get_secret_values(client, chunk), ", ".join(chunk)
            )
        except _RETRYABLE as exc:
            values: dict[str, str] = {}
            failed: dict[str, SecretServiceError] = {}
            for secret_id in chunk:
                entry = self._stale_entry(secret_id, secret_id, exc)
                if entry is None:
                    failed[secret_id] = _copy_with_message(
                        exc, f"{exc} (while reading {secret_id} in a batch)", secret_id=secret_id
                    )
                else:
                    values[secret_id] = entry.value
            return values, failed
        values = {}
        for item in fetched:
            for requested in _ids_answered_by(item, [i for i in chunk if i not in values]):
                if item.error is None:
                    values[requested] = self._store(requested, item, generation).value
                else:
                    errors[requested] = _copy_with_message(
                        item.error, str(item.error), secret_id=requested
                    )
        for secret_id, error in errors.items():
            if isinstance(error, _REFUSALS):
                self._forget(secret_id)
        for secret_id in chunk:
            if secret_id not in values and secret_id not in errors:
                errors[secret_id] = SecretNotFoundError(
                    f"BatchGetSecretValue returned no value for secret {secret_id}; check the "
                    "name or ARN",
                    secret_id=secret_id,
                )
        return values, errors

    def _optional_entry(self, secret_id: str, version_stage: str) -> Entry | None:
        """``version_stage`` read from the API now, or None when the secret has none.

        Its callers cache what they derive from it on the AWSCURRENT entry, so a
        missing stage costs one call per AWSCURRENT version, not one per request; the
        entry itself is not cached (it would only take an LRU slot from a real read).
        """
        try:  # a stage that does not exist is an answer here, not an error to count
            return self._load(secret_id, version_stage, force_refresh=True, optional=True)
        except SecretNotFoundError:
            return None

    def _typed(
        self, model: type[_Model], secret_id: str, version_stage: str, force_refresh: bool
    ) -> _Model:
        return self._view(model, self._entry(secret_id, version_stage, force_refresh), secret_id)

    def _view(self, model: type[_Model], entry: Entry, secret_id: str) -> _Model:
        view = entry.views.get(model)
        if view is None:
            # the models copy (read-only) whatever they keep: the document stays intact
            view = model.from_mapping(self._document(entry, secret_id), secret_id=secret_id)
            entry.views[model] = view
        return view  # type: ignore[return-value]

    @staticmethod
    def _document(entry: Entry, secret_id: str) -> dict[str, Any]:
        """The entry's value parsed as a JSON object, once per cached version."""
        parsed = entry.json
        if parsed is None:
            document = parse_secret_json(entry.value, secret_id=secret_id)
            parsed = entry.json = (document, is_flat(document))
        return parsed[0]

    def _credentials_after_refusal(
        self, secret_id: str, refused: DatabaseCredentials
    ) -> tuple[str, DatabaseCredentials, Entry] | None:
        """The login to retry with, its stage, and the fresh AWSCURRENT entry."""
        self.invalidate(secret_id)
        current_entry = self._entry(secret_id, AWSCURRENT, False)
        current = self._view(DatabaseCredentials, current_entry, secret_id)
        if _login_differs(current, refused):
            return AWSCURRENT, current, current_entry
        pending_entry = self._optional_entry(secret_id, AWSPENDING)
        if pending_entry is None:
            return None
        try:
            pending = self._view(DatabaseCredentials, pending_entry, secret_id)
        except SecretFormatError:
            return None
        if not _login_differs(pending, refused):
            return None
        return AWSPENDING, pending, current_entry

    def _ca_bundle(self) -> str | None:
        if not self._ca_bundle_read:
            # blank is unset, as in SecretServiceConfig.from_env
            self._ca_bundle_path = os.environ.get("RDS_CA_BUNDLE", "").strip() or None
            self._ca_bundle_read = True
        return self._ca_bundle_path

    def _adapter(self) -> tuple[ModuleType, SecretsManagerClient]:
        aws = self._aws
        client = self._client
        if aws is None or client is None:
            with self._client_lock:
                if self._aws is None:
                    from secret_service import aws as adapter

                    adapter.keep_secret_values_out_of_debug_logs()
                    self._aws = adapter
                if self._client is None:
                    self._client = self._aws.create_default_client(
                        connect_timeout_s=self._config.connect_timeout_s,
                        read_timeout_s=self._config.read_timeout_s,
                    )
                else:
                    self._report_stacked_retries(self._aws, self._client)
                aws, client = self._aws, self._client
        assert aws is not None
        assert client is not None
        return aws, client

    def _report_stacked_retries(self, aws: ModuleType, client: SecretsManagerClient) -> None:
        """Say once that a caller's client retries inside each of our attempts."""
        botocore_attempts = aws.botocore_attempts(client)
        if botocore_attempts > 1:
            logger.warning(
                "client retries stack with secret_service retries",
                extra={
                    "botocore_attempts": botocore_attempts,
                    "max_attempts": self._retry.max_attempts,
                    "worst_case_calls_per_read": botocore_attempts * self._retry.max_attempts,
                    "fix": "Config(retries={'mode': 'standard', 'total_max_attempts': 1})",
                },
            )

    # -- internals: bookkeeping -----------------------------------------------------------

    def _note_hit(self, entry: Entry, secret_id: str) -> None:
        if entry.stale:
            self._served_stale(entry, secret_id)
        self._emit("hit", secret_id, 1.0)

    def _served_stale(self, entry: Entry, secret_id: str) -> None:
        self._stale_served.inc()
        self._emit("stale", secret_id, 1.0)

    def _emit(self, event: str, secret_id: str, value: float) -> None:
        hook = self._metrics
        if hook is None:
            return
        try:
            hook(event, secret_id, value)
        except Exception as exc:  # a broken metrics hook must never break a secret read
            logger.warning(
                "metrics hook failed",
                extra={"event": event, "secret_id": secret_id, "error_type": type(exc).__name__},
            )


class _JwtVerificationKeys:
    """The key under which an AWSCURRENT entry caches its verification key pair."""


class _WorkingLogin:
    """The key under which an AWSCURRENT entry keeps the AWSPENDING login that worked."""


# -- module level ----------------------------------------------------------------------

_default_service: SecretService | None = None
_default_lock = threading.Lock()


def get_default_service() -> SecretService:
    """The process-wide service, created at first call from ``ServiceConfig.from_env()``."""
    global _default_service  # noqa: PLW0603 - the lazy module-level default is the point
    service = _default_service
    if service is None:
        with _default_lock:
            if _default_service is None:
                _default_service = SecretService.from_config(ServiceConfig.from_env())
            service = _default_service
    return service


def reset_default_service() -> None:
    """Drop the process-wide service (tests; or after changing the environment)."""
    global _default_service  # noqa: PLW0603
    with _default_lock:
        _default_service = None


def _check_id(secret_id: object, version_stage: object) -> None:
    if not isinstance(secret_id, str) or not secret_id.strip():
        raise SecretConfigError(
            f"secret_id must be a non-empty secret name or ARN (got {type(secret_id).__name__})"
        )
    if not isinstance(version_stage, str) or not version_stage.strip():
        raise SecretConfigError(
            "version_stage must be a non-empty staging label such as 'AWSCURRENT' "
            f"(got {type(version_stage).__name__})",
            secret_id=secret_id,
        )


def _key_id(key: _Key) -> str:
    return key if isinstance(key, str) else key[0]


_ARN_SUFFIX_LENGTH = len("-AbCdEf")  # what Secrets Manager appends to a secret's ARN


def _batch_limit() -> int:
    return 20  # BatchGetSecretValue's SecretIdList limit (secret_service.aws.BATCH_LIMIT)


def _ids_answered_by(item: FetchedSecret, requested: list[str]) -> list[str]:
    """Every requested id that names ``item``: its name, its ARN, or its partial ARN.

    A partial ARN is the ARN without Secrets Manager's ``-`` + 6-character suffix, so
    ``...:secret:app`` answers to ``...:secret:app-AbCdEf`` but never to the secret
    ``app-db`` (``...:secret:app-db-XyZaBc``), whatever order the batch answers in.
    """
    return [secret_id for secret_id in requested if _names(secret_id, item.name, item.arn)]


def _names(secret_id: str, name: str, arn: str) -> bool:
    """True when ``secret_id`` is the secret's name, its ARN or its partial ARN."""
    return secret_id in (name, arn) or (
        secret_id.startswith("arn:")
        and len(arn) == len(secret_id) + _ARN_SUFFIX_LENGTH
        and arn.startswith(f"{secret_id}-")
    )


def _login_differs(a: DatabaseCredentials, b: DatabaseCredentials) -> bool:
    return (a.username, a.password, a.host, a.port) != (b.username, b.password, b.host, b.port)


def _copy_with_message(
    error: SecretServiceError, message: str, *, secret_id: str | None = None
) -> SecretServiceError:
    clone = error.__class__.__new__(error.__class__)
    clone.__dict__.update(error.__dict__)
    clone.args = (message,)
    if secret_id is not None:
        clone.secret_id = secret_id
    return clone
