"""Secrets Manager calls per second and monthly cost for a fleet: ``docs/capacity.md``.

    python -m scripts.capacity --containers 2000 --secrets 3 --ttl-s 300 --canary-minutes 1

The model (one line each; the docs explain it):

* application reads: every warm container refreshes each of its secrets once per TTL,
  ``containers * secrets / ttl_s`` GetSecretValue calls per second;
* cold starts: ``cold_starts_per_s * ceil(secrets / 20)`` BatchGetSecretValue calls when
  the layer preloads (its own quota: 100 per second);
* canary: each run reads and describes each secret, ``2 * canary_secrets / period_s``;
* cost: $0.05 per 10,000 API calls plus $0.40 per secret (and per replica) per month.

``docs/capacity.md``'s table is :func:`markdown_table` of :data:`TABLE_FLEETS` x
:data:`TABLE_TTLS_S`; a unit test keeps the two identical.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = [
    "BATCH_GET_QUOTA_PER_S",
    "GET_SECRET_VALUE_QUOTA_PER_S",
    "Estimate",
    "estimate",
    "markdown_table",
]

GET_SECRET_VALUE_QUOTA_PER_S = 10_000
BATCH_GET_QUOTA_PER_S = 100
PRICE_PER_10K_CALLS_USD = 0.05
PRICE_PER_SECRET_MONTH_USD = 0.40
SECONDS_PER_MONTH = 30 * 24 * 3600
BATCH_SIZE = 20

TABLE_FLEETS = (10, 100, 1_000, 10_000, 100_000)
TABLE_TTLS_S = (60, 300, 900, 3600)
TABLE_SECRETS = 3


@dataclass(frozen=True)
class Estimate:
    app_calls_per_s: float
    cold_start_batch_calls_per_s: float
    canary_calls_per_s: float
    secrets_stored: int

    @property
    def get_secret_value_per_s(self) -> float:
        """What counts against GetSecretValue's 10,000/s (the canary's reads included)."""
        return self.app_calls_per_s + self.canary_calls_per_s / 2

    @property
    def total_calls_per_s(self) -> float:
        return self.app_calls_per_s + self.cold_start_batch_calls_per_s + self.canary_calls_per_s

    @property
    def calls_per_month(self) -> float:
        return self.total_calls_per_s * SECONDS_PER_MONTH

    @property
    def api_cost_usd_per_month(self) -> float:
        return self.calls_per_month / 10_000 * PRICE_PER_10K_CALLS_USD

    @property
    def storage_cost_usd_per_month(self) -> float:
        return self.secrets_stored * PRICE_PER_SECRET_MONTH_USD

    @property
    def quota_used(self) -> float:
        """Share of the GetSecretValue quota in use (1.0 = throttled)."""
        return self.get_secret_value_per_s / GET_SECRET_VALUE_QUOTA_PER_S


def estimate(
    *,
    containers: int,
    secrets: int,
    ttl_s: float,
    cold_starts_per_s: float = 0.0,
    canary_secrets: int = 3,
    canary_minutes: float = 5.0,
    secrets_stored: int = 3,
    replicas: int = 0,
) -> Estimate:
    if ttl_s <= 0:
        raise ValueError("ttl_s must be positive: without a cache every invocation calls AWS")
    return Estimate(
        app_calls_per_s=containers * secrets / ttl_s,
        cold_start_batch_calls_per_s=cold_starts_per_s * math.ceil(secrets / BATCH_SIZE),
        canary_calls_per_s=2 * canary_secrets / (canary_minutes * 60) if canary_minutes else 0,
        secrets_stored=secrets_stored * (1 + replicas),
    )


def _money(value: float) -> str:
    return f"${value:,.2f}" if value < 100 else f"${value:,.0f}"


def _rate(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:,.0f}"


def _share(value: float) -> str:
    return f"{value:.2%}" if value < 0.01 else f"{value:.0%}"


def markdown_table(
    fleets: Sequence[int] = TABLE_FLEETS,
    ttls_s: Sequence[int] = TABLE_TTLS_S,
    *,
    secrets: int = TABLE_SECRETS,
) -> str:
    """Application GetSecretValue/s, quota share and monthly API cost per fleet and TTL."""
    header = "| warm containers | " + " | ".join(f"TTL {t} s" for t in ttls_s) + " |"
    rule = "|---:|" + "---:|" * len(ttls_s)
    lines = [header, rule]
    for fleet in fleets:
        cells = []
        for ttl in ttls_s:
            e = estimate(containers=fleet, secrets=secrets, ttl_s=ttl, canary_minutes=0)
            cells.append(
                f"{_rate(e.app_calls_per_s)}/s · {_share(e.quota_used)} · "
                f"{_money(e.api_cost_usd_per_month)}"
            )
        lines.append(f"| {fleet:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _number(kind: type[int] | type[float], *, positive: bool) -> Callable[[str], float]:
    """An argparse type: a number of ``kind``, above 0 (``positive``) or at least 0."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {kind.__name__}") from None
        if math.isnan(value) or value < 0 or (positive and value == 0):
            raise argparse.ArgumentTypeError(
                f"{text!r} must be {'above 0' if positive else 'at least 0'}"
            )
        return value

    return parse


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.capacity",
        description="Secrets Manager calls and cost for a fleet (docs/capacity.md).",
    )
    parser.add_argument(
        "--containers", type=_number(int, positive=False), help="warm containers (required)"
    )
    parser.add_argument(
        "--secrets",
        type=_number(int, positive=False),
        default=3,
        help="secrets each container reads",
    )
    parser.add_argument(
        "--ttl-s", type=_number(float, positive=True), default=300.0, help="SECRETS_CACHE_TTL_S"
    )
    parser.add_argument("--cold-starts-per-s", type=_number(float, positive=False), default=0.0)
    parser.add_argument(
        "--canary-minutes",
        type=_number(float, positive=False),
        default=5.0,
        help="CanaryRateMinutes",
    )
    parser.add_argument(
        "--replicas", type=_number(int, positive=False), default=0, help="replica regions"
    )
    parser.add_argument("--table", action="store_true", help="print docs/capacity.md's table")
    args = parser.parse_args(argv)
    if args.table:
        print(markdown_table())
        return 0
    if args.containers is None:
        parser.error("--containers is required (the number of warm containers)")
    e = estimate(
        containers=args.containers,
        secrets=args.secrets,
        ttl_s=args.ttl_s,
        cold_starts_per_s=args.cold_starts_per_s,
        canary_minutes=args.canary_minutes,
        secrets_stored=3,
        replicas=args.replicas,
    )
    print(f"application GetSecretValue  {e.app_calls_per_s:,.2f}/s")
    print(f"cold-start BatchGet         {e.cold_start_batch_calls_per_s:,.2f}/s "
          f"(quota {BATCH_GET_QUOTA_PER_S}/s)")  # fmt: skip
    print(f"canary                      {e.canary_calls_per_s:,.3f}/s")
    print(f"GetSecretValue quota used   {e.quota_used:.2%} of {GET_SECRET_VALUE_QUOTA_PER_S:,}/s")
    print(f"API calls per month         {e.calls_per_month:,.0f}")
    print(f"API cost per month          {_money(e.api_cost_usd_per_month)}")
    print(f"secrets per month           {_money(e.storage_cost_usd_per_month)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
