"""English vocabularies of the tag stage's entity rules (see the package's doc)."""

from __future__ import annotations

#: titles and honorifics before a name: "President Xi", "Dr. Lindqvist"
TITLES = frozenset(
    {
        "mr", "mrs", "ms", "miss", "dr", "prof", "president", "vice", "prime", "minister",
        "chancellor", "king", "queen", "prince", "princess", "sen", "senator", "rep",
        "representative", "gov", "governor", "gen", "general", "col", "colonel", "capt",
        "captain", "lt", "sgt", "judge", "justice", "chairman", "chairwoman", "chair",
        "ceo", "secretary", "pope", "sir", "lord", "lady", "mayor", "ambassador",
        "premier", "sheikh", "rev", "father", "sister", "brother", "dame", "emperor",
    }
)  # fmt: skip

#: abbreviations whose full stop belongs to the name: "Apple Inc.", "King Jr."
ABBREVIATIONS = ("Inc", "Corp", "Co", "Ltd", "Bros", "Jr", "Sr")

#: lower-case function words, which end no name: "Melvin and"
FUNCTION_WORDS = (
    "and",
    "or",
    "of",
    "the",
    "for",
    "in",
    "on",
    "at",
    "to",
    "with",
    "by",
    "from",
    "&",
)

#: the article before a name, left out of it: "the Labour Party"
ARTICLE = "the"

#: words that join the words of a long form: "Bank of England (BoE)"
LONG_FORM_JOINERS = ("of", "and", "for", "the", "de", "du", "&")

#: words that take no initial in an acronym
STOP_INITIALS = frozenset({"of", "and", "for", "the", "de", "du", "des", "la", "le", "&"})

#: a generic word after a place: "Marrow Bay city council" (the place is "Marrow Bay")
GENERIC_TAILS = (
    "city", "town", "village", "county", "district", "province", "region", "municipality",
    "borough",
)  # fmt: skip

#: how names of landforms and waters end, and start
LANDFORM_LAST = frozenset(
    {
        "Strait", "Straits", "Sea", "Ocean", "River", "Gulf", "Bay", "Mountains", "Hills",
        "Island", "Islands", "Peninsula", "Channel", "Fjord", "Valley", "Desert", "Canal",
        "Lake", "Lagoon", "Delta", "Basin", "Plateau", "Coast", "Archipelago", "Glacier",
    }
)  # fmt: skip
LANDFORM_FIRST = frozenset({"Lake", "Mount", "Cape", "Gulf", "Strait", "Isle", "Mountains"})

#: how names of organisations end or start: "Leeds United", "Labour Party", "Bank of
#: England", "Real Madrid" (not "City", "Union" or "Bank": "Mexico City", "Soviet
#: Union", "West Bank")
ORG_LAST = frozenset(
    {
        "United", "Rovers", "Wanderers", "Athletic", "Albion", "Hotspur", "FC", "Inc",
        "Corp", "Corporation", "Ltd", "Plc", "PLC", "LLC", "Group", "Company",
        "University", "College", "Council", "Party", "Association", "Institute",
        "Agency", "Ministry", "Department", "Committee", "Commission", "Foundation",
        "Club", "Airlines", "Airways", "Federation", "Authority", "Police",
    }
)  # fmt: skip
ORG_FIRST = frozenset(
    {"Bank", "University", "Ministry", "Department", "Real", "Atletico", "Sporting",
     "Borussia", "Olympique", "Dynamo", "Inter", "AC", "FC"}
)  # fmt: skip

#: a club's first word, which the model leaves out of the name at a sentence's start
CLUB_FIRST = ("Real", "Atletico", "Sporting", "Borussia", "Olympique", "Dynamo")

#: how a firm's registered name ends: "Boeing Co.", "SoftBank Group Corp"
LEGAL_FORMS = frozenset(
    {"Inc", "Inc.", "Corp", "Corp.", "Corporation", "Co", "Co.", "Ltd", "Ltd.", "Plc",
     "PLC", "LLC", "AG", "SA", "S.A.", "NV", "N.V.", "GmbH", "Group", "Holdings"}
)  # fmt: skip

#: first words that are no short form of the name they open (besides ORG_LAST):
#: "Bank of England", "United Nations", "AC Milan"
NO_SHORT_FORM = frozenset({"Bank", "University", "Ministry", "Department", "AC", "FC"})

#: prepositions before a place, in a sentence that is about being there
LOCATIVE_PREPOSITIONS = ("in", "near", "outside", "around", "across", "throughout")

#: travel to or from a place: "Flights to Reykjavik" (a club is "moved to Liverpool")
TRAVEL = (
    "flight", "flights", "train", "trains", "bus", "buses", "ferry", "ferries", "route",
    "routes", "road", "roads", "trip", "trips", "journey", "journeys", "visit", "visits",
    "ticket", "tickets", "travel", "travelled", "traveled", "travels", "flew", "fly",
    "flying", "sail", "sailed", "sails",
)  # fmt: skip
TRAVEL_TO = ("to", "from")

#: prepositions before a place a name is taken for: "in Westbrook", "from Halden"
PLACE_PREPOSITIONS = ("in", "at", "from", "near", "outside", "across", "into", "around")

#: the preposition of a place that follows a name: "Westbrook in Norway"
IN = "in"

#: a place ends the name of its port, town or office: "the Port of Halden", "Mayor of
#: Westbrook" (not "the end of March", "Vice President of Sales")
NAME_OF = (
    "Port", "Harbour", "Harbor", "City", "Town", "Village", "County", "Province",
    "Municipality", "Mayor", "University", "Diocese", "Bishop", "Archbishop",
)  # fmt: skip
OF = "of"

#: followers of a faith, and its adjective: names of peoples (NORP) the model can miss
FAITHS = frozenset(
    {
        *("Muslim", "Muslims", "Islamic", "Sunni", "Sunnis", "Shia", "Shiite", "Shiites"),
        *("Christian", "Christians", "Catholic", "Catholics", "Protestant", "Protestants"),
        *("Evangelical", "Evangelicals", "Mormon", "Mormons", "Jewish", "Jew", "Jews"),
        *("Hindu", "Hindus", "Buddhist", "Buddhists", "Sikh", "Sikhs"),
    }
)

#: how names of peoples, faiths and parties end: Norwegian, Chinese, Swedish, Dutch,
#: Islamic, Israeli, Democrats, Sikhs, Greeks
DEMONYM_ENDINGS = ("an", "ans", "ese", "ish", "ic", "ics", "i", "is", "ch", "sh", "k", "ks", "s")

#: verbs of speech after a name: a speaker is a person, not a place
SPEECH = ("said", "says", "told", "added", "wrote", "asked", "replied")

#: a role in a club or a firm right after its name: "Norwich striker", "Apple chairman"
#: (not a spokesman or an aide, who can be a person's: "a Trump spokesman"; not a mayor)
CLUB_ROLES = (
    "striker", "forward", "midfielder", "defender", "goalkeeper", "keeper", "winger",
    "coach", "manager", "captain", "skipper", "playmaker", "chairman", "chairwoman",
    "chief executive", "CEO", "owner", "boss",
)  # fmt: skip

#: one side playing another: "Leicestershire beat Somerset", "lost to Leeds", "Kent v Surrey"
RESULTS = (
    "beat", "beats", "defeated", "edged", "thrashed", "drew with", "lost to", "v", "vs.",
    "vs", "versus",
)  # fmt: skip

#: determiners of a role in apposition: "First Last, an associate professor at"
APPOSITION_DETERMINERS = ("an", "a", "the", "its", "their", "his", "her")

#: roles in apposition after a person's name (each also with an s)
PERSON_ROLES = (
    "professor", "lecturer", "researcher", "scientist", "economist", "analyst", "director",
    "spokesman", "spokeswoman", "spokesperson", "official", "officer", "executive", "chief",
    "president", "chairman", "chairwoman", "founder", "co-founder", "author", "editor",
    "lawyer", "attorney", "minister", "secretary", "adviser", "advisor", "consultant",
    "fellow", "expert", "historian", "engineer", "manager", "coach", "teacher", "doctor",
    "student", "leader", "correspondent", "reporter", "activist", "campaigner",
    "candidate", "senator", "governor", "mayor", "ambassador", "inspector", "detective",
    "commissioner", "curator", "dean", "principal", "surgeon", "physician", "nurse",
    "pastor", "priest", "rabbi", "imam", "judge", "farmer", "owner",
)  # fmt: skip
FROM = "from"
