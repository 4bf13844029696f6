"""The article's entity list: one row per canonical entity, ranked by salience. Pure.

Salience in 0..1 mixes four signals, each in 0..1:

- frequency: the entity's mentions over the most-mentioned entity's (0.40)
- position: how early it is first mentioned (0.25)
- title: it is named in the title, its first ``TITLE_CHARS`` characters (0.15)
- summary: it is mentioned in a summary sentence (0.20)
"""

from __future__ import annotations

from collections.abc import Sequence

from schemas.models import Entity, Mention, Sentence

WEIGHTS = {"frequency": 0.40, "position": 0.25, "title": 0.15, "summary": 0.20}
# of a title, what is read for the names in it: a headline is a few hundred characters,
# and each entity's names are looked for in it (a megabyte "title" and 3,000 entities
# took the stage 6 s)
TITLE_CHARS = 1000


def entity_list(
    text: str,
    mentions: Sequence[Mention],
    *,
    title: str | None = None,
    summary: Sequence[Sentence] = (),
) -> list[Entity]:
    """Entities by salience (highest first; ties by first mention)."""
    groups: dict[tuple[str, str], list[Mention]] = {}
    for m in mentions:
        groups.setdefault((m.canonical, m.label), []).append(m)
    if not groups:
        return []
    most = max(len(g) for g in groups.values())
    length = max(len(text), 1)
    title_folded = (title or "")[:TITLE_CHARS].casefold()
    rows = []
    for (name, label), group in groups.items():
        first = min(m.start for m in group)
        in_title = bool(title_folded) and any(
            form.casefold() in title_folded for form in {name, *(m.text for m in group)}
        )
        in_summary = any(s.start <= m.start and m.end <= s.end for m in group for s in summary)
        score = (
            WEIGHTS["frequency"] * len(group) / most
            + WEIGHTS["position"] * (1 - first / length)
            + WEIGHTS["title"] * in_title
            + WEIGHTS["summary"] * in_summary
        )
        rows.append(
            Entity(
                name=name,
                label=label,
                mentions=len(group),
                first_offset=first,
                salience=round(min(max(score, 0.0), 1.0), 4),
            )
        )
    rows.sort(key=lambda e: (-e.salience, e.first_offset))
    return rows
