"""The tag stage's vocabularies, kept as data: one module per language.

A language's module defines the same names as ``en``: word lists only, no
patterns. ``workers.stages.tag.entities`` builds its patterns from them
(``words``), so that a rule reads the same in every language and a vocabulary is
changed, reviewed and compared without reading the code that uses it.

English runs every rule (``en``). Another language with a model configured
(``ENRICH_MODELS``) runs the rules that hold in any language
(``workers.stages.tag.basic``), which need less of its lexicon: French's (``fr``)
has its titles, leading articles, function words and label names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable


def words(vocabulary: Iterable[str]) -> str:
    """A regex alternation of ``vocabulary``, in its order: each word escaped, a
    space standing for any run of whitespace."""
    return "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in vocabulary)
