"""Freeze windows: when an environment takes no change without ``--break-glass REASON``.

Two forms, each with an optional IANA time zone at the end (UTC when omitted):
- weekly: ``"Fri 16:00-Mon 08:00 Europe/Paris"`` (from a day and time to a day and time, wrapping
  over the week's end), or ``"18:00-08:00"`` (every day, wrapping over midnight);
- dates: ``"2026-12-20/2027-01-03"``, both days included (until the end of the last day).
Times are wall-clock times in that zone (zoneinfo), so a window keeps its hours across DST changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = r"([01]?\d|2[0-3]):([0-5]\d)"
WEEKLY_RE = re.compile(rf"^(?:([A-Za-z]{{3}})\s+)?{_TIME}\s*-\s*(?:([A-Za-z]{{3}})\s+)?{_TIME}(?:\s+(\S+))?$")
DATES_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*/\s*(\d{4}-\d{2}-\d{2})(?:\s+(\S+))?$")


class FreezeSyntaxError(ValueError):
    """A window that cannot be read: the message says what was expected."""


@dataclass(frozen=True)
class Window:
    text: str
    zone: str
    start_day: int | None = None  # weekly: 0 = Monday; None with a time = every day
    start: time | None = None
    end_day: int | None = None
    end: time | None = None
    first: date | None = None  # dates
    last: date | None = None

    def _tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    def occurrence(self, now: datetime) -> tuple[datetime, datetime] | None:
        """The occurrence of this window that contains ``now`` or comes next (aware datetimes), or None."""
        local = now.astimezone(self._tz())
        if self.first is not None and self.last is not None:
            begin = self._instant(self.first, time(0), earliest=True)
            finish = self._instant(self.last + timedelta(days=1), time(0), earliest=False)
            return (begin, finish) if _utc(local) < _utc(finish) else None
        assert self.start is not None and self.end is not None
        candidates = []
        # Occurrences starting from 8 days back to 8 days ahead cover every weekly or daily pattern.
        for offset in range(-8, 9):
            day = local.date() + timedelta(days=offset)
            if self.start_day is not None and day.weekday() != self.start_day:
                continue
            begin = self._instant(day, self.start, earliest=True)
            if self.end_day is not None:
                span = (self.end_day - self.start_day) % 7 if self.start_day is not None else 0
                finish_day = day + timedelta(days=span)
                if span == 0 and self.end <= self.start:
                    finish_day += timedelta(days=7)
            else:
                finish_day = day + timedelta(days=1 if self.end <= self.start else 0)
            finish = self._instant(finish_day, self.end, earliest=False)
            if _utc(finish) > _utc(local):
                candidates.append((begin, finish))
        return min(candidates, key=lambda pair: _utc(pair[0])) if candidates else None

    def _instant(self, day: date, at: time, *, earliest: bool) -> datetime:
        """A wall time of the window's zone as one instant. A wall time that happens twice (the repeated
        hour of a DST fall-back) or never (the skipped one) has two readings: a window starts at the
        earlier and ends at the later, so it covers every instant whose wall clock is inside it. Two
        datetimes of one zone compare by wall time, ignoring ``fold``: every comparison here is in UTC."""
        zone = self._tz()
        readings = [datetime.combine(day, at, zone).replace(fold=fold).astimezone(UTC) for fold in (0, 1)]
        return (min(readings) if earliest else max(readings)).astimezone(zone)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def parse_window(text: str) -> Window:
    words = " ".join(str(text).split())
    weekly, dates = WEEKLY_RE.match(words), DATES_RE.match(words)
    if weekly:
        d1, h1, m1, d2, h2, m2, zone = weekly.groups()
        if bool(d1) != bool(d2):
            raise FreezeSyntaxError(f"{text!r}: give a day on both sides (Fri 16:00-Mon 08:00) or on neither.")
        days = [_day(d, text) for d in (d1, d2)] if d1 else [None, None]
        window = Window(text, _zone(zone, text), days[0], time(int(h1), int(m1)), days[1], time(int(h2), int(m2)))
    elif dates:
        first, last, zone = dates.groups()
        try:
            start, end = date.fromisoformat(first), date.fromisoformat(last)
        except ValueError as exc:
            raise FreezeSyntaxError(f"{text!r}: {exc}.") from None
        if end < start:
            raise FreezeSyntaxError(f"{text!r}: the last day comes before the first.")
        window = Window(text, _zone(zone, text), first=start, last=end)
    else:
        raise FreezeSyntaxError(
            f'{text!r} is not a freeze window: write "Fri 16:00-Mon 08:00 Europe/Paris", '
            '"18:00-08:00 UTC" or "2026-12-20/2027-01-03".'
        )
    return window


def _day(word: str, text: str) -> int:
    if word.lower() not in DAYS:
        raise FreezeSyntaxError(f"{text!r}: {word!r} is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun).")
    return DAYS.index(word.lower())


def _zone(name: str | None, text: str) -> str:
    if not name:
        return "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise FreezeSyntaxError(f"{text!r}: unknown time zone {name!r} (an IANA name such as Europe/Paris).") from None
    return name


@dataclass(frozen=True)
class FreezeState:
    env: str
    current: tuple[Window, datetime, datetime] | None  # the window in force, with its occurrence
    upcoming: tuple[Window, datetime, datetime] | None  # the next one to start

    @property
    def frozen(self) -> bool:
        return self.current is not None

    def to_json(self) -> dict[str, object]:
        def one(item: tuple[Window, datetime, datetime] | None) -> dict[str, str] | None:
            if item is None:
                return None
            window, begin, end = item
            return {"window": window.text, "start": _iso(begin), "end": _iso(end)}

        return {"env": self.env, "frozen": self.frozen, "current": one(self.current), "next": one(self.upcoming)}


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="minutes")


def state(env: str, windows: tuple[str, ...] | list[str], now: datetime | None = None) -> FreezeState:
    """The window in force at ``now`` (the one ending last, when several overlap) and the next to start."""
    now = now or datetime.now(UTC)
    current, upcoming = None, None
    for text in windows:
        window = parse_window(text)
        found = window.occurrence(now)
        if found is None:
            continue
        begin, end = found
        if _utc(begin) <= _utc(now) < _utc(end):
            if current is None or _utc(end) > _utc(current[2]):
                current = (window, begin, end)
        elif upcoming is None or _utc(begin) < _utc(upcoming[1]):
            upcoming = (window, begin, end)
    return FreezeState(env, current, upcoming)


def describe(item: tuple[Window, datetime, datetime]) -> str:
    window, begin, end = item
    return f"{window.text} ({_iso(begin)} to {_iso(end)})"
