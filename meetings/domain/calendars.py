"""Which days a council can meet on.

Scheduling only asks two questions of a calendar, so it takes any object with these two methods:
the public-holiday calendar of a country for real councils, a plain Monday-to-Friday one where
holidays do not matter (tests, councils without a supported country).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, Protocol

import holidays

from meetings.domain.errors import InvalidInput


class WorkingCalendar(Protocol):
    """Which days are working days, and the name of the holiday that makes a day free."""

    def is_working_day(self, day: date) -> bool: ...

    def holiday_name(self, day: date) -> str | None: ...


@dataclass(frozen=True, slots=True)
class WeekdaysOnly:
    """Monday to Friday are working days; there are no holidays."""

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5

    def holiday_name(self, day: date) -> str | None:
        return None


class PublicHolidays:
    """A country's statutory calendar, weekend make-up working days included (China's 调休)."""

    __slots__ = ("_holidays", "country")

    def __init__(self, country: str, entries: Any) -> None:
        self.country = country
        # holidays ships no type information; keep the untyped object behind this small facade.
        self._holidays = entries

    def is_working_day(self, day: date) -> bool:
        # HolidayBase.is_working_day already treats a weekend make-up day as working, which a
        # plain "weekday and not a holiday" test would get wrong twice a year in China.
        return bool(self._holidays.is_working_day(day))

    def holiday_name(self, day: date) -> str | None:
        name = self._holidays.get(day)
        return None if name is None else str(name)

    def __repr__(self) -> str:
        return f"PublicHolidays({self.country!r})"


def public_holidays(country: str, *, language: str = "en_US") -> WorkingCalendar:
    """The public-holiday calendar of ``country`` (ISO 3166-1 alpha-2, e.g. "CN").

    Holiday names come in ``language`` when the country's data has it, else in the country's own
    language. The language is always passed explicitly because the holidays package otherwise
    guesses it from the process locale, which would make stored reasons depend on the host.
    """
    code = country.strip().upper()
    if not code.isascii() or not code.isalpha() or len(code) not in (2, 3):
        raise InvalidInput(
            "unknown holiday country {country}: use a code such as CN or GB",
            country=repr(country[:40]),
        )
    return _cached(code, language)


@lru_cache(maxsize=64)
def _cached(code: str, language: str) -> PublicHolidays:
    # One object per country: the package computes each year lazily and keeps it, so sharing
    # the object avoids recomputing a year for every scheduling call.
    try:
        entries = holidays.country_holidays(code, language=language)
    except NotImplementedError as err:
        raise InvalidInput(
            "unknown holiday country {country}: use a code such as CN or GB", country=repr(code)
        ) from err
    return PublicHolidays(code, entries)
