"""Record models: the one definition of every record on the wire.

The JSON Schema files beside this module are generated from these models
(``python -m schemas.generate``) and are the contract for downstream
consumers; ``tests/unit/schemas`` proves the two agree.

Record kinds and their topics::

    RawArticle       articles.raw       forgiving input from scrapers
    CleanedArticle   articles.cleaned   clean text, metadata, language
    TaggedArticle    articles.tagged    + sentences and entity mentions
    EnrichedArticle  articles.enriched  + summary, word count, provenance
    DeadLetter       articles.dlq       a record that could not be processed

Every record but the raw input is strict (unknown fields are rejected) and
carries ``schema_version``. Records of an earlier version this one still reads
are brought to it by ``upgrade`` before they are validated.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    model_serializer,
    model_validator,
)

#: 2: authors, summary_sentences, entity_list, keywords;
#: 3: provenance is a map keyed by stage name, the model under the stage that used it;
#: 4: places and tone: an entity's ``place`` and ``tone``, the article's ``countries``
#: and ``tone`` (enriched records; the others change only their version)
SCHEMA_VERSION = 4
#: The versions a worker reads: a record of an earlier one is upgraded (``upgrade``).
READABLE_VERSIONS = (2, 3, 4)

#: The built-in stages, in pipeline order; a plugin may add more (workers/stage_table.py),
#: so a dead letter's stage is any name of the stage name's form.
Stage = Literal["clean", "tag", "summarize"]
STAGE_NAMES: tuple[Stage, ...] = get_args(Stage)
STAGE_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,30}$"
StageName = Annotated[str, StringConstraints(pattern=STAGE_NAME_PATTERN)]


#: Longest article id: an id is the record key and travels in every story message
#: of its article, so it must not grow with what a producer sends.
MAX_ID_CHARS = 1024

#: Longest metadata the clean stage keeps: a title or source past these is cut (an
#: ellipsis marks the cut), an author list past MAX_AUTHORS keeps the first ones,
#: a url past MAX_URL_CHARS is dropped (a cut url points nowhere). Readers of the
#: enriched topic (the live page among them) then hold bounded records.
MAX_TITLE_CHARS = 1000
MAX_SOURCE_CHARS = 200
MAX_URL_CHARS = 4096
MAX_AUTHORS = 20
MAX_AUTHOR_CHARS = 200


def fields_of(model: BaseModel, *, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A model's field values as they are (nested models stay models, not dicts): a
    later stage's record built from them takes the nested models without validating
    them again (pydantic does not revalidate instances), where ``**model_dump()``
    made dicts of them that were validated anew at every hop."""
    return {name: getattr(model, name) for name in type(model).model_fields if name not in exclude}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class RawArticle(BaseModel):
    """A scraped article as producers send it.

    Forgiving: every field is optional, unknown fields are ignored, but at
    least one of ``html`` or ``text`` must be present. Without an ``id`` the
    article is identified by a stable hash of its ``url``, else of its content.
    """

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True, title="RawArticle")

    schema_version: int | None = Field(
        default=None, description="Optional; 1, 2 or 3 if given (the raw shape is the same)"
    )
    id: str | None = Field(
        default=None,
        max_length=MAX_ID_CHARS,
        description=f"Article id; used as the record key (at most {MAX_ID_CHARS} characters)",
    )
    url: str | None = None
    source: str | None = Field(default=None, description="Publisher or feed name")
    title: str | None = None
    published_at: str | None = Field(default=None, description="As the producer gives it")
    authors: list[str] | None = Field(default=None, description="Bylines, if known")
    language: str | None = Field(default=None, description="ISO 639-1 code, if known")
    html: str | None = Field(default=None, description="The page as HTML")
    text: str | None = Field(default=None, description="The page as pasted text")


class ModelInfo(_Strict):
    """A spaCy model a stage used."""

    name: str
    version: str
    language: str


class StageRun(_Strict):
    """Which version of a stage produced a record, and when."""

    version: str
    finished_at: str = Field(description="UTC timestamp, ISO 8601")
    model: ModelInfo | None = Field(
        default=None,
        description="The spaCy model the stage used; absent when it used none (the tag "
        "stage: when entity tagging was skipped)",
    )

    @model_serializer(mode="wrap")
    def _without_absent_model(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        out: dict[str, Any] = handler(self)
        if out.get("model", 0) is None:
            del out["model"]
        return out


#: A record's provenance: one entry per stage it went through, keyed by the stage's
#: name, in pipeline order (a stage a plugin adds has its own entry).
Provenance = dict[StageName, StageRun]


def provenance(*stages: str) -> Any:
    """The ``pipeline`` field of a record that has been through at least ``stages``."""
    return Field(
        description="Provenance: one entry per stage the record went through, keyed by "
        "stage name, in pipeline order; a stage a plugin adds has its own",
        json_schema_extra={"required": list(stages), "additionalProperties": False},
    )


def required_stages(model: type[BaseModel]) -> tuple[str, ...]:
    """The stages a record kind's provenance must name."""
    extra = model.model_fields["pipeline"].json_schema_extra
    required = extra.get("required") if isinstance(extra, dict) else None
    return tuple(str(s) for s in required) if isinstance(required, list) else ()


def upgrade(obj: dict[str, Any]) -> dict[str, Any]:
    """A record of an earlier readable version in the current version's shape (the
    object as it is otherwise, left for validation to judge).

    2 to 3: the version number, and the tag stage's model moves from beside the
    stages (``pipeline.model``) into the tag stage's entry (``pipeline.tag.model``).
    3 to 4: the version number (what 4 adds is optional: an enriched record of 3 has
    no places nor tone, as a record of 4 whose places and tone were not computed).
    """
    if not isinstance(obj, dict) or obj.get("schema_version") not in (2, 3):
        return obj
    new = {**obj, "schema_version": SCHEMA_VERSION}
    chain = obj.get("pipeline")
    if (
        obj.get("schema_version") == 2
        and isinstance(chain, dict)
        and "model" in chain
        and isinstance(chain.get("tag"), dict)
    ):
        stages = {k: v for k, v in chain.items() if k != "model"}
        stages["tag"] = {**chain["tag"], "model": chain["model"]}
        new["pipeline"] = stages
    return new


class CleanedArticle(_Strict):
    """The clean article body with its metadata (topic ``articles.cleaned``)."""

    model_config = ConfigDict(title="CleanedArticle")

    schema_version: Literal[4] = 4
    id: str
    url: str | None
    source: str | None
    title: str | None
    published_at: str | None
    published_at_raw: str | None = Field(
        default=None,
        description="The publication time as given, when it could not be read as a date "
        "(published_at is then null)",
    )
    authors: list[str] = Field(
        default_factory=list, description="Bylines: as given, else found in the page"
    )
    language: str | None = Field(description="ISO 639-1 code, detected unless given")
    language_confidence: float = Field(ge=0.0, le=1.0)
    text: str = Field(min_length=1, description="The clean article body")
    pipeline: Provenance = provenance("clean")

    @model_validator(mode="after")
    def _provenance_names_its_stages(self) -> Self:
        missing = [s for s in required_stages(type(self)) if s not in self.pipeline]
        if missing:
            raise ValueError(f"pipeline: no entry for the stage(s) {', '.join(missing)}")
        return self


class Sentence(_Strict):
    """A sentence as character offsets into ``text``."""

    start: int = Field(ge=0)
    end: int = Field(ge=0)


class Span(_Strict):
    """A stretch of ``text`` as character offsets."""

    start: int = Field(ge=0)
    end: int = Field(ge=0)


class Mention(_Strict):
    """One entity mention; ``text[start:end] == mention.text``."""

    text: str
    label: str = Field(description="spaCy label: PERSON, ORG, GPE, NORP, ...")
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    canonical: str = Field(description="The entity's full name within the article")


class Tagging(_Strict):
    """How entities were found, or why they were not."""

    skipped: str | None = Field(
        default=None, description="Why entity tagging was skipped (not an error)"
    )
    truncated_at: int | None = Field(
        default=None,
        ge=0,
        description="Set when the text was longer than the tagging budget "
        "(ENRICH_MAX_TAG_CHARS, ENRICH_MAX_TAG_TOKENS): entities were tagged in "
        "text[:truncated_at] only, and sentences after it were found by punctuation",
    )


class TaggedArticle(CleanedArticle):
    """The clean article with sentences and entities (``articles.tagged``)."""

    model_config = ConfigDict(title="TaggedArticle")

    sentences: list[Sentence]
    entities: list[Mention]
    noun_phrases: list[Span] | None = Field(
        default=None,
        description="Noun phrases (adjectives and nouns ending in a noun), from the "
        "model's part-of-speech tags; absent when the model has no tagger or tagging "
        "was skipped. Added in schema version 2 (optional).",
    )
    tagging: Tagging
    pipeline: Provenance = provenance("clean", "tag")

    @model_validator(mode="after")
    def _offsets_inside_text(self) -> Self:
        """Every offset lies in ``text`` and every mention is the text it points at:
        a record read from a topic is not trusted to be what the tag stage wrote."""
        size = len(self.text)
        for i, sent in enumerate(self.sentences):
            if not sent.start < sent.end <= size:
                raise ValueError(
                    f"sentences[{i}]: span {sent.start}:{sent.end} is not "
                    f"inside the text of {size} characters"
                )
        for i, span in enumerate(self.noun_phrases or []):
            if not span.start < span.end <= size:
                raise ValueError(
                    f"noun_phrases[{i}]: span {span.start}:{span.end} is not "
                    f"inside the text of {size} characters"
                )
        for i, ment in enumerate(self.entities):
            if not ment.start < ment.end <= size:
                raise ValueError(
                    f"entities[{i}]: span {ment.start}:{ment.end} is not "
                    f"inside the text of {size} characters"
                )
            if self.text[ment.start : ment.end] != ment.text:
                raise ValueError(
                    f"entities[{i}]: {ment.text!r} is not the text at {ment.start}:{ment.end}"
                )
        return self


PlaceKind = Literal["continent", "country", "region", "county", "city"]
ToneLabel = Literal["positive", "neutral", "negative"]


class Place(_Strict):
    """Where a place name points (schema version 4): a GeoNames place."""

    geonameid: int | None = Field(
        description="GeoNames id; null for the regions other than the US states and for "
        "counties, which the shipped gazetteer has without ids"
    )
    name: str = Field(description="The place's name in GeoNames")
    kind: PlaceKind
    country: str | None = Field(
        pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 code; null for a continent"
    )
    region: str | None = Field(description="First-order region (state, province) it is in")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    population: int = Field(ge=0)


class Tone(_Strict):
    """The tone of the sentences mentioning an entity, toward it (schema version 4)."""

    label: ToneLabel
    score: float = Field(
        ge=-1.0, le=1.0, description="The chance of positive less that of negative"
    )
    sentences: int = Field(ge=1, description="How many sentences it was read from")


class ArticleTone(_Strict):
    """The article's tone: its entities' tones, weighted by their salience."""

    label: ToneLabel | None = Field(description="Null when the tone was not read")
    score: float | None = Field(ge=-1.0, le=1.0)
    skipped: str | None = Field(
        default=None, description="Why no tone was read (a language without a tone model)"
    )


class Country(_Strict):
    """A country the article is about."""

    code: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")
    name: str
    score: float = Field(
        ge=0.0,
        le=1.0,
        description="Its places' and demonyms' salience, summed, as a share of the first's",
    )


class Entity(_Strict):
    """One canonical entity of the article, with how salient it is."""

    name: str = Field(description="Canonical name within the article")
    label: str
    mentions: int = Field(ge=1, description="Number of mentions in the text")
    first_offset: int = Field(ge=0, description="Start of the first mention in the text")
    salience: float = Field(
        ge=0.0,
        le=1.0,
        description="0..1 from frequency (0.4), first position (0.25), presence in the "
        "title (0.15) and in the summary (0.2)",
    )
    place: Place | None = Field(
        default=None,
        description="For a place (GPE, LOC, FAC) the resolver is sure of: where it is. "
        "Added in schema version 4",
    )
    tone: Tone | None = Field(
        default=None, description="Tone toward it (English). Added in schema version 4"
    )


class EnrichedArticle(TaggedArticle):
    """The final record for downstream consumers (``articles.enriched``)."""

    model_config = ConfigDict(title="EnrichedArticle")

    word_count: int = Field(ge=0)
    summary: str = Field(
        description="Whole sentences of the text, in their order; a first sentence over "
        "twice the summary budget is cut at a word break within it and ends with '…'"
    )
    summary_sentences: list[Sentence] = Field(
        description="The summary's sentences as offsets into text"
    )
    entity_list: list[Entity] = Field(
        description="One row per canonical entity, most salient first"
    )
    keywords: list[str] = Field(description="Key phrases of the article, best first")
    story_id: str | None = Field(
        default=None,
        description="Id of the first article seen of this article's story (its own id "
        "when it is the first); null when story grouping is off",
    )
    duplicate_of: str | None = Field(
        default=None, description="The earlier article this one is a near-copy of, if any"
    )
    similarity: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Estimated Jaccard similarity to duplicate_of (word 3-shingles, MinHash)",
    )
    countries: list[Country] = Field(
        default_factory=list,
        description="The countries the article is about, most first. Added in schema version 4",
    )
    tone: ArticleTone | None = Field(
        default=None, description="The article's tone. Added in schema version 4"
    )
    pipeline: Provenance = provenance("clean", "tag", "summarize")


class Source(_Strict):
    """Where a dead-lettered record was read."""

    topic: str
    partition: int
    offset: int
    key: str | None = Field(description="The record key, decoded as UTF-8 or base64")
    key_encoding: Literal["utf-8", "base64"] | None


class Original(_Strict):
    """The original record value, byte for byte."""

    encoding: Literal["utf-8", "base64"]
    value: str
    size: int = Field(ge=0, description="Length of the original value in bytes")
    truncated: bool = Field(description="True when only a prefix is kept (oversized value)")
    sha256: str
    tombstone: bool = Field(
        default=False,
        description="True when the original value was null (a tombstone); "
        "a replay publishes it as null again",
    )


class DeadLetter(_Strict):
    """A record that a stage could not process (topic ``articles.dlq``)."""

    model_config = ConfigDict(title="DeadLetter")

    schema_version: Literal[4] = 4
    id: str | None = Field(description="The article id, when it could be read")
    stage: str = Field(
        pattern=STAGE_NAME_PATTERN,
        description="The stage that failed: clean, tag, summarize, or one a plugin adds",
    )
    code: str = Field(description="Stable error code, see workers.errors")
    message: str
    source: Source
    original: Original
    failed_at: str = Field(description="UTC timestamp, ISO 8601")
    worker_version: str


RECORD_MODELS: dict[str, type[BaseModel]] = {
    "raw_article": RawArticle,
    "cleaned_article": CleanedArticle,
    "tagged_article": TaggedArticle,
    "enriched_article": EnrichedArticle,
    "dead_letter": DeadLetter,
}
