"""Offline language detection (py3langid: ISO 639-1 codes, normalised confidence)."""

from __future__ import annotations

import threading
from functools import lru_cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

# The first 2,000 characters decide almost every article; a less sure answer is
# asked again of 6,000 (the time is linear in the sample).
_SAMPLE_CHARS = 2000
_LONG_SAMPLE_CHARS = 6000
_SURE = 0.9
_lock = threading.Lock()


@lru_cache(maxsize=1)
def _identifier() -> LanguageIdentifier:
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect(text: str) -> tuple[str | None, float]:
    """(ISO 639-1 code, confidence in 0..1); (None, 0.0) for text with no letters."""
    sample = text[:_SAMPLE_CHARS]
    if not any(ch.isalpha() for ch in sample):
        return None, 0.0
    with _lock:  # the identifier keeps scratch state
        code, prob = _identifier().classify(sample)
        if prob < _SURE and len(text) > len(sample):
            code, prob = _identifier().classify(text[:_LONG_SAMPLE_CHARS])
    return str(code), round(float(prob), 4)
