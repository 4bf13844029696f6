from __future__ import annotations

import pytest

from workers.stages.clean import dates
from workers.stages.clean.dates import LONGEST_DATE, normalize, page_time


@pytest.mark.parametrize(
    ("given", "iso"),
    [
        ("2026-03-14T09:30:00Z", "2026-03-14T09:30:00Z"),
        ("2026-03-14T11:30:00+02:00", "2026-03-14T09:30:00Z"),  # to UTC
        ("2026-03-14 09:30", "2026-03-14T09:30:00Z"),  # no offset: taken as UTC
        ("Sat, 14 Mar 2026 09:30:00 +0100", "2026-03-14T08:30:00Z"),
        ("14 March 2026 09:30 GMT", "2026-03-14T09:30:00Z"),
        ("2026-03-14", "2026-03-14"),  # a date stays a date, no invented midnight
        ("March 14, 2026", "2026-03-14"),
    ],
)
def test_readable_times_become_iso_8601_utc(given: str, iso: str) -> None:
    assert normalize(given) == (iso, None)


@pytest.mark.parametrize("given", ["yesterday-ish", "soon", "32/13/2026"])
def test_an_unreadable_value_is_kept_raw(given: str) -> None:
    assert normalize(given) == (None, given)


def test_a_value_too_long_for_a_date_is_kept_raw_unread(monkeypatch: pytest.MonkeyPatch) -> None:
    # dateutil reads "1 1 1 ..." in time linear in its length: 10 MB took 20 s
    read: list[str] = []
    monkeypatch.setattr(dates, "_loose", read.append)
    long = "14 March 2026 09:30 GMT " + "1 " * LONGEST_DATE
    assert normalize(long) == (None, long)
    assert read == []
    assert normalize("14 March 2026 09:30 GMT") == (None, "14 March 2026 09:30 GMT")
    assert read == ["14 March 2026 09:30 GMT"]  # a date's length is read


def test_nothing_given() -> None:
    assert normalize(None) == (None, None)
    assert normalize("  ") == (None, None)


def test_the_page_s_own_time_from_meta_or_json_ld() -> None:
    meta = '<meta property="article:published_time" content="2026-03-14T09:30:00Z">'
    assert page_time(f"<head>{meta}</head>") == "2026-03-14T09:30:00Z"
    ld = '<script type="application/ld+json">{"datePublished": "2026-03-14T10:00+01:00"}</script>'
    assert page_time(ld) == "2026-03-14T10:00+01:00"
    assert page_time("<p>no metadata</p>") is None
