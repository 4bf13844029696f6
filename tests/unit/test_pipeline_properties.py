"""Property-based tests: whatever bytes arrive, the pipeline answers once per record
with an enriched record or a dead letter with a known code, and never raises."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import EnrichedArticle
from tests.conftest import blank_tagger, raw_message
from workers.errors import ERROR_CODES
from workers.pipeline import Dead, Forward, Message, Pipeline
from workers.settings import Settings

PIPELINE = Pipeline(Settings(max_record_bytes=16 * 1024), blank_tagger())
PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
markup = st.lists(
    st.sampled_from(
        [
            "<p>",
            "</p>",
            "<div>",
            "</div>",
            "<script>",
            "</script>",
            "&amp;",
            "&#0;",
            "&#x110000;",
            "<!--",
            "-->",
            "<html>",
            "<br>",
            "Xi Jinping",
            "\x00",
            "\u202e",
            "\r\n",
            " ",
        ]
    )
    | st.text(max_size=20),
    max_size=40,
).map("".join)
articles = st.fixed_dictionaries(
    {},
    optional={
        "id": st.text(max_size=20),
        "title": st.text(max_size=40) | st.none(),
        "url": st.text(max_size=30),
        "language": st.text(max_size=5) | st.none(),
        "text": st.text() | markup,
        "html": markup | st.text(),
    },
)


def check(messages: list[Message]) -> None:
    outcomes = list(PIPELINE.run(messages))
    assert len(outcomes) == len(messages)
    for outcome in outcomes:
        if isinstance(outcome, Dead):
            assert outcome.record.code in ERROR_CODES
            assert outcome.record.message
        else:
            assert isinstance(outcome, Forward)
            record = outcome.record
            assert isinstance(record, EnrichedArticle)
            assert record.text.strip()
            for m in record.entities:
                assert record.text[m.start : m.end] == m.text
            for s in record.sentences:
                assert 0 <= s.start < s.end <= len(record.text)


@PROPS
@given(st.lists(st.binary(max_size=2048) | st.none(), min_size=1, max_size=5))
def test_any_bytes(values: list[bytes | None]) -> None:
    check(
        [
            raw_message(value=v, offset=i)
            if v is not None
            else Message("articles.raw", 0, i, None, None)
            for i, v in enumerate(values)
        ]
    )


@PROPS
@given(json_values)
def test_any_json(value: object) -> None:
    check([raw_message(value=json.dumps(value).encode())])


@PROPS
@given(st.lists(articles, min_size=1, max_size=4))
def test_any_article_shaped_object(objs: list[dict[str, object]]) -> None:
    check([raw_message(obj, offset=i) for i, obj in enumerate(objs)])
