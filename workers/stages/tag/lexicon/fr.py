"""French vocabularies of the tag stage's entity rules (see the package's doc).

French runs the rules that hold in any language (``workers.stages.tag.basic``):
these lists are what those rules need, not a translation of every English list.
"""

from __future__ import annotations

#: titles and honorifics before a name: "le président Macron", "Mme Borne"
TITLES = frozenset(
    {
        "m", "mm", "mme", "mmes", "mlle", "dr", "docteur", "pr", "professeur", "me",
        "maître", "mgr", "monseigneur", "président", "présidente", "ministre",
        "premier", "première", "chancelier", "chancelière", "roi", "reine", "prince",
        "princesse", "pape", "général", "générale", "colonel", "capitaine", "juge",
        "maire", "sénateur", "sénatrice", "député", "députée", "ambassadeur",
        "ambassadrice", "secrétaire", "commissaire", "gouverneur", "préfet", "préfète",
        "cardinal", "abbé", "père", "sœur", "frère", "sir", "lord", "lady", "cheikh",
    }
)  # fmt: skip

#: articles and contracted prepositions a model may take into the name's start:
#: "la Commission européenne" is "Commission européenne"
LEADING_ARTICLES = ("le", "la", "les", "l'", "l’", "du", "des", "de", "d'", "d’", "au", "aux")

#: lower-case function words: a name does not end in one, and lower-case words after
#: one end it ("Station spatiale internationale à bord d'une capsule")
FUNCTION_WORDS = (
    "de", "du", "des", "d'", "d’", "à", "au", "aux", "et", "ou", "le", "la", "les",
    "l'", "l’", "en", "sur", "pour", "par", "avec", "dans", "un", "une",
)  # fmt: skip

#: The model's labels, as the English ones (``Mention.label``): PER is PERSON.
LABELS = {"PER": "PERSON", "ORG": "ORG", "LOC": "LOC", "MISC": "MISC"}
