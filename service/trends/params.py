"""Trend query parameters: the time window, the bucket size and the filters, validated."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from service.errors import BadRequest

Interval = Literal["day", "week", "month"]
MAX_BUCKETS = 400
MAX_RANGE_DAYS = 5 * 366
DEFAULT_RANGE_DAYS = 90


@dataclass(frozen=True, slots=True)
class TrendFilters:
    """Which insights count: window [start, end), bucket size and optional filters."""

    start: datetime
    end: datetime
    interval: Interval = "week"
    label: str | None = None
    context: str | None = None
    team: str | None = None
    rep: str | None = None
    stage: str | None = None
    deal: str | None = None


def parse_when(value: str | None, *, name: str) -> datetime | None:
    """An ISO date or datetime (UTC when no zone is given); 400 naming the parameter."""
    if value is None or value == "":
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(
            f"'{name}' must be an ISO date (2026-11-01) or datetime, got {value[:40]!r}",
            code="invalid_date",
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def bucket_start(at: datetime, interval: Interval) -> date:
    """The first day of the UTC bucket holding a time (weeks start on Monday)."""
    d = at.astimezone(UTC).date()
    if interval == "week":
        return d - timedelta(days=d.weekday())
    if interval == "month":
        return d.replace(day=1)
    return d


def next_bucket(d: date, interval: Interval) -> date:
    """The first day of the following bucket."""
    if interval == "day":
        return d + timedelta(days=1)
    if interval == "week":
        return d + timedelta(days=7)
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


def buckets(start: datetime, end: datetime, interval: Interval) -> list[date]:
    """Every bucket touching [start, end), oldest first."""
    out: list[date] = []
    d = bucket_start(start, interval)
    while datetime.combine(d, time(), tzinfo=UTC) < end:
        out.append(d)
        d = next_bucket(d, interval)
    return out


def window(
    start: str | None, end: str | None, interval: str, *, now: datetime
) -> tuple[datetime, datetime, Interval]:
    """Validated [start, end) and interval: defaults to the last 90 days, bounded in size."""
    if interval not in ("day", "week", "month"):
        raise BadRequest(
            f"'interval' must be day, week or month, got {interval[:20]!r}", code="invalid_interval"
        )
    iv: Interval = interval  # type: ignore[assignment]
    to = parse_when(end, name="to") or now
    frm = parse_when(start, name="from") or to - timedelta(days=DEFAULT_RANGE_DAYS)
    if frm >= to:
        raise BadRequest("'from' must be before 'to'", code="invalid_range")
    if to - frm > timedelta(days=MAX_RANGE_DAYS):
        raise BadRequest(
            f"the window is at most {MAX_RANGE_DAYS} days; narrow 'from'/'to'",
            code="range_too_long",
        )
    n = len(buckets(frm, to, iv))
    if n > MAX_BUCKETS:
        raise BadRequest(
            f"{n} {iv} buckets asked for; at most {MAX_BUCKETS}: use a longer interval or a "
            "shorter window",
            code="too_many_buckets",
        )
    return frm, to, iv
