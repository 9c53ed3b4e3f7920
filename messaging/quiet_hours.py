"""When a message may leave: sending hours as wall-clock windows in a timezone, and the first instant
at or after a given one inside them (`slot_next`). No Django in here: plain data and a function over
a datetime, a timezone, windows and a holiday calendar (`messaging.policy` applies them).

A window is read on the clocks of the brand's timezone each day, then converted to an instant with
zoneinfo, so a slot is right across a DST change (never "now + N hours"): a time the clocks skip
(02:30 on the last Sunday of March in Europe/Paris) is the first instant after the skip (03:00); a
time they show twice (the last Sunday of October) is its first occurrence.

The brand's own windows (`ChannelSettings.quiet_hours`) are JSON, checked by `hours_parse`:

    {"sms": {"windows": [{"days": ["mon", "tue", "wed", "thu", "fri", "sat"],
                          "start": "08:00", "end": "20:00"}],
             "public_holidays": false}}

`end` "24:00" (or "00:00") is midnight at the end of the day; `public_holidays` true lets the windows
hold on public holidays too (false unless given).
"""

from __future__ import annotations

from collections.abc import Collection, Container, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MONDAY_TO_FRIDAY = frozenset(range(5))
MONDAY_TO_SATURDAY = frozenset(range(6))
EVERY_DAY = frozenset(range(7))
MIDNIGHT = time(0)
# How far ahead a slot is looked for: past the longest run of closed days a calendar can hold.
SEARCH_DAYS = 31


@dataclass(frozen=True)
class Window:
    days: frozenset[int]  # 0 Monday ... 6 Sunday
    start: time
    end: time  # MIDNIGHT: midnight at the end of the day


@dataclass(frozen=True)
class Hours:
    """When one channel may send: its windows, and whether they hold on public holidays."""

    windows: tuple[Window, ...]
    public_holidays: bool = False


# France's defaults for marketing (README, "Messaging > Rules the platform enforces"): calls as the
# décret n° 2022-1313 allows canvassing calls (weekdays 10:00-13:00 and 14:00-20:00, never on
# weekends or public holidays); SMS as the mobile operators' code of practice (AF2M) asks of
# marketing SMS: not between 20:00 and 08:00, not on Sundays or public holidays.
MARKETING_HOURS: Mapping[str, Hours] = {
    "voice": Hours(
        windows=(
            Window(days=MONDAY_TO_FRIDAY, start=time(10), end=time(13)),
            Window(days=MONDAY_TO_FRIDAY, start=time(14), end=time(20)),
        )
    ),
    "sms": Hours(windows=(Window(days=MONDAY_TO_SATURDAY, start=time(8), end=time(20)),)),
}
# A call of any purpose (a service call too: a payment failed) never rings at night, any day.
CALL_HOURS = Hours(windows=(Window(days=EVERY_DAY, start=time(8), end=time(21)),), public_holidays=True)


def wall_clock(day: date, at: time, tz: tzinfo) -> datetime:
    """The instant (UTC) the clocks of `tz` show `at` on `day` (module docstring: skipped and
    repeated times)."""
    local = datetime.combine(day, at, tzinfo=tz)
    instant = local.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) == local.replace(tzinfo=None):
        return instant
    # Skipped: read with the offset before the change the time falls after it, with the offset
    # after it before it; the change itself, found to the second, is the first instant after.
    low, high = int(local.replace(fold=1).timestamp()), int(local.timestamp())
    after = datetime.fromtimestamp(high, tz).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, tz).utcoffset() == after:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def _next_in(at: datetime, tz: tzinfo, hours: Hours, holidays: Container[date]) -> datetime | None:
    """The first instant at or after `at` inside one of `hours`' windows."""
    first_day = at.astimezone(tz).date() - timedelta(days=1)  # a window of the day before may hold `at`
    windows = sorted(hours.windows, key=lambda window: window.start)
    for offset in range(SEARCH_DAYS + 1):
        day = first_day + timedelta(days=offset)
        if not hours.public_holidays and day in holidays:
            continue
        for window in windows:
            if day.weekday() not in window.days:
                continue
            end_day = day + timedelta(days=1) if window.end == MIDNIGHT else day
            if at < wall_clock(end_day, window.end, tz):
                return max(at, wall_clock(day, window.start, tz))
    return None


def slot_next(
    *, at: datetime, tz: tzinfo, hours: Sequence[Hours], holidays: Container[date]
) -> datetime | None:
    """The first instant at or after `at` (aware) inside a window of every one of `hours` in `tz`,
    days in `holidays` closed where an `Hours` says so; `at` itself when it is inside; None when
    none opens within `SEARCH_DAYS` (windows that never meet)."""
    slot = at
    for _ in range(4 * SEARCH_DAYS):
        moved = False
        for one in hours:
            found = _next_in(slot, tz, one, holidays)
            if found is None:
                return None
            if found != slot:
                slot, moved = found, True
        if not moved:
            return slot
        if slot - at > timedelta(days=SEARCH_DAYS):
            return None
    return None


class HoursInvalid(Exception):
    """Sending hours that cannot be read; `errors` are sentences naming the path at fault."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def _time(value: Any, path: str, errors: list[str], *, end: bool) -> time | None:
    if end and value == "24:00":
        return MIDNIGHT
    hour, _, minute = value.partition(":") if isinstance(value, str) else ("", "", "")
    if len(hour) == 2 and len(minute) == 2 and hour.isdigit() and minute.isdigit():
        if int(hour) < 24 and int(minute) < 60:
            return time(int(hour), int(minute))
    latest = "24:00" if end else "23:59"
    errors.append(f"{path}: {value!r} is not a time of day as HH:MM (00:00 to {latest})")
    return None


def _window(value: Any, path: str, errors: list[str]) -> Window | None:
    if not isinstance(value, dict):
        errors.append(f"{path}: must be an object with days, start and end")
        return None
    count = len(errors)
    errors += [f"{path}.{key}: unknown field" for key in sorted(set(value) - {"days", "start", "end"})]
    days = value.get("days")
    numbers: list[int] = []
    if not isinstance(days, list) or not days or not all(day in WEEKDAYS for day in days):
        errors.append(f"{path}.days: must be a list of days among {', '.join(WEEKDAYS)}")
    elif len(set(days)) != len(days):
        errors.append(f"{path}.days: a day is repeated")
    else:
        numbers = [WEEKDAYS.index(day) for day in days]
    start = _time(value.get("start"), f"{path}.start", errors, end=False)
    end = _time(value.get("end"), f"{path}.end", errors, end=True)
    if start is not None and end is not None and end != MIDNIGHT and end <= start:
        errors.append(f"{path}.end: must be after start ({start:%H:%M})")
    if len(errors) > count or start is None or end is None:
        return None
    return Window(days=frozenset(numbers), start=start, end=end)


def hours_parse(value: Any, *, channels: Collection[str]) -> dict[str, Hours]:
    """The brand's sending hours per channel from their JSON (module docstring); raises
    `HoursInvalid` listing everything wrong, each error starting with its path (`sms.windows[0].end`)."""
    if not isinstance(value, dict):
        raise HoursInvalid(["must be an object of channels"])
    errors: list[str] = []
    parsed: dict[str, Hours] = {}
    for channel, item in value.items():
        if channel not in channels:
            errors.append(f"{channel}: not a channel (one of {', '.join(channels)})")
            continue
        if not isinstance(item, dict):
            errors.append(f"{channel}: must be an object with windows and public_holidays")
            continue
        errors += [
            f"{channel}.{key}: unknown field" for key in sorted(set(item) - {"windows", "public_holidays"})
        ]
        public_holidays = item.get("public_holidays", False)
        if not isinstance(public_holidays, bool):
            errors.append(f"{channel}.public_holidays: must be true or false")
        windows = item.get("windows")
        if not isinstance(windows, list) or not windows:
            errors.append(f"{channel}.windows: must be a list of at least one window")
            continue
        read = [
            _window(window, f"{channel}.windows[{index}]", errors) for index, window in enumerate(windows)
        ]
        parsed[channel] = Hours(
            windows=tuple(window for window in read if window is not None),
            public_holidays=public_holidays is True,
        )
    if errors:
        raise HoursInvalid(errors)
    return parsed
