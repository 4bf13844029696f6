"""One validation pass: every numeric setting is finite and within what its protocol
allows, checked at start, refused in one line naming it; no value gives a traceback."""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workers.errors import ConfigError
from workers.settings import Settings, load_settings
from workers.settings.checks import MAX_MS_S

INT32 = 2**31 - 1

NUMERIC: list[str] = sorted(
    name
    for name, field in Settings.model_fields.items()
    if field.annotation in (int, float, "int", "float")
)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        # the red team's values: each passed `enrich config` and crashed a worker later
        ("session_timeout_s", "inf"),
        ("session_timeout_s", "1e300"),
        ("rebalance_timeout_s", "inf"),
        ("transaction_timeout_s", "inf"),
        ("trend_retention_s", "1e18"),
        ("trend_retention_s", str(10**18)),
        ("partitions", str(2**31)),
        ("batch_size", str(10**20)),
        ("max_record_bytes", str(10**12)),
        ("max_record_bytes", "1e12"),
        ("session_timeout_s", "nan"),
        ("stop_timeout_s", str(2**31)),
        ("replication_factor", str(2**15)),
    ],
)
def test_an_out_of_range_value_is_refused_in_one_line_naming_it(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(**{variable: value})
    message = str(caught.value)
    assert f"ENRICH_{variable.upper()}" in message
    assert "\n" not in message


def test_a_setting_that_holds_alone_but_not_beside_another_is_refused() -> None:
    both = r"ENRICH_HEARTBEAT_INTERVAL_S .* ENRICH_SESSION_TIMEOUT_S"
    with pytest.raises(ConfigError, match=both):
        load_settings(session_timeout_s="3", heartbeat_interval_s="3")
    with pytest.raises(ConfigError, match="ENRICH_TREND_BUCKET_S"):
        load_settings(trend_bucket_s="7200", trend_retention_s="3600")


@pytest.mark.parametrize(
    ("variable", "value"),
    [("model_language", "klingon"), ("models", "xx:some_model"), ("models", "english:en_x")],
)
def test_a_language_is_an_iso_code(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"ENRICH_{variable.upper()}.*ISO 639-1"):
        load_settings(**{variable: value})


def _values() -> st.SearchStrategy[str]:
    """What an operator might type: any number as text, huge, negative, not finite."""
    numbers = st.one_of(
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(min_value=0, max_value=2**33),
        st.floats(min_value=0, max_value=5e6),
    )
    words = st.sampled_from(["inf", "-inf", "nan", "1e300", "1e20", "2**31", "", " 7 ", "0x10"])
    return st.one_of(numbers.map(str), words)


def _derived(settings: Settings, data_dir: Path) -> None:
    """What the worker makes of the settings: Kafka's millisecond and byte fields,
    the retention windows, the batches, the Faust app itself."""
    from workers.stream.worker.process import create_app

    for name in NUMERIC:
        if name.endswith("_s"):
            assert 0 <= getattr(settings, name) * 1000 <= INT32 or name.endswith("retention_s")
    assert settings.max_request_bytes <= INT32
    assert settings.partitions <= INT32 and settings.replication_factor < 2**15
    timedelta(seconds=settings.story_retention_s) + timedelta(seconds=settings.trend_retention_s)
    list(itertools.islice(range(3), settings.batch_size))
    create_app(settings.model_copy(update={"data_dir": data_dir}))


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(name=st.sampled_from(NUMERIC), value=_values())
def test_no_value_of_a_numeric_setting_gives_a_traceback(
    name: str, value: str, tmp_path: Path
) -> None:
    try:
        loaded = load_settings(**{name: value})
    except ConfigError as exc:
        assert f"ENRICH_{name.upper()}" in str(exc)
        return
    _derived(loaded, tmp_path)


def test_the_durations_bound_is_kafkas_milliseconds() -> None:
    assert MAX_MS_S * 1000 == INT32
    loaded = load_settings(
        session_timeout_s=str(MAX_MS_S),
        rebalance_timeout_s=str(MAX_MS_S),
        request_timeout_s=str(MAX_MS_S),
    )
    assert loaded.session_timeout_s == MAX_MS_S
