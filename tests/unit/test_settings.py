from __future__ import annotations

from pathlib import Path

import pytest

from workers.errors import ConfigError
from workers.settings import Settings, effective, load_settings


def test_environment_with_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENRICH_TOPIC_RAW", "in.raw")
    monkeypatch.setenv("ENRICH_MAX_RECORD_BYTES", "2048")
    settings = load_settings()
    assert settings.topic_raw == "in.raw"
    assert settings.max_record_bytes == 2048


def test_overrides_win_and_none_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENRICH_BROKER", "kafka:9092")
    assert load_settings(broker="other:1").broker == "other:1"
    assert load_settings(broker=None).broker == "kafka:9092"


def test_defaults() -> None:
    s = Settings()
    assert s.topics == {
        "raw": "articles.raw",
        "cleaned": "articles.cleaned",
        "tagged": "articles.tagged",
        "enriched": "articles.enriched",
        "dlq": "articles.dlq",
        "summarized": "articles.summarized",
        "story_bands": "articles.story-bands",
        "story_matches": "articles.story-matches",
        "story_entities": "articles.story-entities",
    }
    assert not s.stories and s.story_threshold == 0.4  # opt-in
    assert s.max_record_bytes == 10 * 1024 * 1024
    assert s.stage_list == ("clean", "tag", "summarize")


def test_frozen() -> None:
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises ValidationError
        Settings().broker = "x:1"


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("stages", "clean,translate", "ENRICH_STAGES"),
        ("broker", "no-port", "ENRICH_BROKER"),
        ("batch_size", 0, "ENRICH_BATCH_SIZE"),
    ],
)
def test_invalid_setting_is_one_clear_line(field: str, value: object, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(**{field: value})
    message = str(info.value)
    assert needle in message
    assert "\n" not in message


def test_stage_order_is_canonical() -> None:
    assert load_settings(stages="summarize,clean").stage_list == ("clean", "summarize")


def test_each_stage_set_has_its_own_group() -> None:
    assert load_settings(group_id="g").app_id == "g"
    assert load_settings(group_id="g", stages="tag").app_id == "g-tag"
    assert load_settings(group_id="g", stages="summarize,tag").app_id == "g-tag-summarize"


def test_sasl_needs_a_user_and_a_password_which_may_come_from_a_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs ENRICH_SASL_USERNAME"):
        load_settings(security_protocol="SASL_SSL")
    secret = tmp_path / "password"
    secret.write_text("from-a-file\n")
    s = load_settings(
        security_protocol="SASL_PLAINTEXT", sasl_username="svc", sasl_password_file=str(secret)
    )
    assert s.secret("sasl_password") == "from-a-file"
    with pytest.raises(ConfigError, match="no such file"):
        load_settings(ssl_cafile=str(tmp_path / "missing.pem"))
    with pytest.raises(ConfigError, match="go together"):
        load_settings(ssl_certfile=str(secret))


def test_effective_masks_secrets_and_names_sources() -> None:
    s = Settings(
        broker="b:1",
        security_protocol="SASL_PLAINTEXT",
        sasl_username="svc",
        sasl_password="hunter2-secret",  # type: ignore[arg-type]
    )
    rows = {
        var: (value, source)
        for var, value, source in effective(
            s,
            {"broker": "b:1"},
            environ={"ENRICH_SASL_PASSWORD": "x", "ENRICH_SASL_USERNAME": "svc"},
        )
    }
    assert rows["ENRICH_SASL_PASSWORD"] == ("********", "environment")
    assert rows["ENRICH_BROKER"] == ("b:1", "command line")
    assert rows["ENRICH_TOPIC_RAW"] == ("articles.raw", "default")
    assert rows["ENRICH_SSL_KEY_PASSWORD"] == ("(not set)", "default")
    assert "hunter2-secret" not in repr(s) and "hunter2-secret" not in str(rows)
    assert len(rows) == len(Settings.model_fields)


def test_data_dir_defaults_to_the_user_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert Settings().data_dir == tmp_path / "cache" / "article-enrich"


def test_data_dir_falls_back_to_temp_when_the_cache_is_read_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import tempfile

    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    monkeypatch.setenv("XDG_CACHE_HOME", str(locked / "cache"))
    monkeypatch.setattr("os.access", lambda path, mode: not str(path).startswith(str(locked)))
    chosen = Settings().data_dir
    assert chosen.parent == Path(tempfile.gettempdir())
    assert chosen.name.startswith("article-enrich-")


def test_data_dir_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ENRICH_DATA_DIR", str(tmp_path / "d"))
    assert load_settings().data_dir == tmp_path / "d"


def test_faust_data_directory_is_under_data_dir(tmp_path: Path) -> None:
    from workers.stream.worker.process import create_app

    settings = Settings(data_dir=tmp_path / "deep" / "data", stages="tag")
    app = create_app(settings)
    assert app.conf.datadir == tmp_path / "deep" / "data" / "enrich-tag"
    assert (tmp_path / "deep" / "data").is_dir()


def test_the_session_timeout_outlives_a_frozen_replica_where_there_are_three() -> None:
    # one broker: Apache Kafka's smallest session (the embedded broker's first join
    # waits half of it); three replicas: longer than a frozen replica of the group's
    # offsets partition holds every heartbeat back (until the cluster drops it)
    assert Settings().group_session_s == 6.0
    assert Settings(replication_factor=3).group_session_s == 15.0
    assert Settings(replication_factor=3, session_timeout_s=8).group_session_s == 8.0
    assert Settings(session_timeout_s=20).group_session_s == 20.0
    with pytest.raises(ValueError, match="ENRICH_SESSION_TIMEOUT_S \\(6\\)"):
        Settings(heartbeat_interval_s=6)
    assert Settings(replication_factor=3, heartbeat_interval_s=6).heartbeat_interval_s == 6
