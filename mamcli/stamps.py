"""The time of the data (SPEC §9 `as_of`): Binance's millisecond stamps read, found and written, in one place.

Used by `import` (the `[account] as_of` it writes), the live sources and `watch` (the newest stamp of the
responses and frames), and every result's `as_of`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

STAMP_KEYS = ("time", "updateTime", "serverTime", "E")  # milliseconds since the epoch, in Binance's bodies
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_STAMP_MS = 253402300799999  # 9999-12-31T23:59:59.999Z: later than that is not a time


def stamp_time(value: object) -> datetime | None:
    """A millisecond epoch stamp (a positive whole number) as an aware UTC datetime, else None (0 is Binance's
    "never updated")."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return None
    if isinstance(value, Decimal) and (not value.is_finite() or value != value.to_integral_value()):
        return None
    ms = int(value)
    if not 0 < ms <= LATEST_STAMP_MS:
        return None
    return EPOCH + timedelta(milliseconds=ms)


def newest(
    labelled: Iterable[tuple[str, object]], keys: tuple[str, ...] = STAMP_KEYS
) -> tuple[datetime, str, str] | None:
    """The newest stamp under any of `keys` anywhere in the (label, body) pairs, walked without recursion:
    (time, key, label of its body), or None."""
    best: tuple[datetime, str, str] | None = None
    for label, body in labelled:
        todo = [body]
        while todo:
            item = todo.pop()
            if isinstance(item, dict):
                for k, v in item.items():
                    if isinstance(v, (dict, list)):
                        todo.append(v)
                    elif k in keys:
                        t = stamp_time(v)
                        if t is not None and (best is None or t > best[0]):
                            best = (t, k, label)
            elif isinstance(item, list):
                todo.extend(item)
    return best


def newest_stamp(bodies: Iterable[object], keys: tuple[str, ...] = STAMP_KEYS) -> datetime | None:
    """The newest stamp under any of `keys`, anywhere in the bodies."""
    found = newest((("", body) for body in bodies), keys)
    return None if found is None else found[0]


def iso(moment: datetime | None) -> str | None:
    """ISO-8601 in UTC with a Z: `2023-11-14T22:13:20Z`, milliseconds (or microseconds) only when there are."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    us = moment.microsecond
    spec = "seconds" if not us else "milliseconds" if us % 1000 == 0 else "microseconds"
    return moment.replace(tzinfo=None).isoformat(timespec=spec) + "Z"
