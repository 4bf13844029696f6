"""Each boilerplate family is removed; every article sentence is kept."""

from __future__ import annotations

import pytest

from workers.stages.clean import boilerplate, rules

BODY = [
    "The regional council voted on Tuesday to extend the coastal tram line by four stations.",
    "Construction is expected to start next spring and to last about two years in total.",
    "Opponents said the money would be better spent on buses serving the northern villages.",
]


def _page(*lines: str) -> str:
    return "\n".join(lines)


@pytest.mark.parametrize(
    "noise",
    [
        "Share:",
        "Share this article",
        "Join our WhatsApp group for the latest updates",
        "Follow us on Twitter",
        "Sign up for our newsletter to get updates in your inbox",
        "Download our app for breaking news",
        "This website uses cookies to improve your experience.",
        "12 Comments",
        "Photo credit: Jane Doe / Agency",
        "Advertisement",
        "Home > News > Region",
        "© 2026 Example Media. All rights reserved.",
        "Also read: Five things to know about the tram",
        "Maria K. on May 3, 2026 at 4:47 pm said:",
        "2 days ago at 07:47 am",
        "Rating: 36 Votes",
        "Reply",
        "Leave a Reply",
        "Click to share on Facebook (Opens in new window)",
        "Click to print (Opens in new window)",
    ],
)
def test_noise_line_inside_article_is_removed(noise: str) -> None:
    text = _page(BODY[0], noise, BODY[1], BODY[2])
    assert boilerplate.clean_text(text) == "\n\n".join(BODY)


def test_title_twice_and_related_list() -> None:
    title = "Council extends tram line"
    text = _page(
        title,
        title,
        "Share:",
        *BODY,
        "Related News",
        "Harbour bridge closed for repairs",
        "Schools to get new labs",
        "Mayor announces budget hearings",
    )
    assert boilerplate.clean_text(text, title=title) == "\n\n".join(BODY)


def test_menus_before_and_footer_after_are_dropped() -> None:
    menu = ["Home", "World", "Business", "Sport", "Culture", "Weather", "Video", "Podcasts"]
    footer = ["Terms of Use", "Contact Us", "Careers", "Sitemap", "RSS", "Advertise"]
    assert boilerplate.clean_text(_page(*menu, *BODY, *footer)) == "\n\n".join(BODY)


def test_line_broken_mid_sentence_is_joined() -> None:
    text = _page(
        "The regional council voted on Tuesday to extend the coastal",
        "tram line by four stations after a long debate in the chamber.",
        BODY[1],
        BODY[2],
    )
    out = boilerplate.clean_text(text)
    assert out.split("\n\n")[0] == (
        "The regional council voted on Tuesday to extend the coastal tram line by four "
        "stations after a long debate in the chamber."
    )


@pytest.mark.timeout(60)
def test_a_page_of_broken_lines_is_joined_in_linear_work() -> None:
    # a megabyte of one-word lines, each continuing the sentence before: the joined
    # line was split into words again at each line it took in, for half an hour
    lines = ["The regional council voted on Tuesday to extend the", *["tram"] * 300_000]
    assert boilerplate.clean_text("\n".join(lines)) == " ".join(lines)


def test_subheading_between_paragraphs_is_kept() -> None:
    text = _page(BODY[0], "What happens next", BODY[1], BODY[2])
    assert "What happens next" in boilerplate.clean_text(text)


def test_whitespace_unicode_and_mojibake_are_repaired() -> None:
    text = "  The  caf\u00c3\u00a9 in the\u00a0old town\u200b reopened on Monday after a long renovation.  \r\n"  # noqa: E501
    assert (
        boilerplate.normalize(text)
        == "The café in the old town reopened on Monday after a long renovation."
    )
    decomposed = "Cafe\u0301 owners said the street had been quiet for months before the works."
    assert "Café" in boilerplate.normalize(decomposed)


def test_only_lines_ftfy_could_change_go_through_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import ftfy

    text = "\n".join(
        [
            "Plain ASCII line one.",
            "The caf\u00c3\u00a9 reopened.",  # mojibake
            "Fish &amp; chips\r",  # an entity and a carriage return, on the next line
            "Plain line two.",
            "Bob <b>bold</b> plain line three.",  # markup: no entity after it is unescaped
            "Plain line four.",
            "Tom &amp; Jerry \u2019s show",
            "Last plain line.",
        ]
    )
    given: list[str] = []
    real = ftfy.fix_text

    def fix_text(segment: str, *args: object, **kwargs: object) -> str:
        given.append(segment)
        return real(segment, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ftfy, "fix_text", fix_text)
    repaired = boilerplate.repair(text)
    monkeypatch.undo()
    assert repaired == ftfy.fix_text(text, normalization="NFC")
    assert "The café reopened." in repaired and "Fish & chips" in repaired
    assert "Tom &amp; Jerry" in repaired  # as ftfy leaves it after markup
    # the two lines that follow each other go in one call; plain lines in none
    assert given == [
        "The caf\u00c3\u00a9 reopened.\nFish &amp; chips\r\n",
        "Tom &amp; Jerry \u2019s show\n",
    ]
    assert boilerplate.repair("a\n\n" * 100_000) == "a\n\n" * 100_000


def test_a_page_of_many_lines_ftfy_reads_is_repaired_in_blocks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ftfy

    # ftfy costs about 30 µs a line: a record of a million such lines took minutes
    lines = [
        f"Zeile {i}: die Stra\u00dfe" if i % 3 else f"Line {i}: the caf\u00c3\u00a9 &amp; bar"
        for i in range(3 * boilerplate.LINE_BY_LINE)
    ]
    text = "\n".join(lines) + "\nBob <b>bold</b>\nTom &amp; Jerry\n"
    segments = 0
    real = ftfy.fix_and_explain

    def counted(*args: object, **kwargs: object) -> ftfy.ExplainedText:
        nonlocal segments
        segments += 1
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ftfy, "fix_and_explain", counted)
    repaired = boilerplate.repair(text)
    monkeypatch.undo()
    # line by line up to LINE_BY_LINE, then one segment per block and one at the markup
    assert segments <= boilerplate.LINE_BY_LINE + len(text) // 65_536 + 2
    assert repaired == ftfy.fix_text(text, normalization="NFC")  # the same repair here
    assert "Line 14997: the café & bar" in repaired
    assert repaired.endswith("Tom &amp; Jerry\n")  # no entity unescaped after markup


def test_a_paste_is_normalised_and_classified_once_for_title_and_body(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = (
        "Harbour plan approved after long talks\n"
        "Harbour plan approved after long talks\n"
        "The council met on Monday and agreed a new plan for the harbour front after "
        "months of talks with residents.\nThe work will start in spring and last two "
        "years, the mayor said on Tuesday."
    )
    classified: list[str] = []
    real = rules.classify

    def counted(line: str) -> rules.Kind:
        classified.append(line)
        return real(line)

    monkeypatch.setattr(boilerplate, "classify", counted)
    title, body = boilerplate.pasted(text)
    assert title == "Harbour plan approved after long talks"
    assert body == boilerplate.clean_text(text, title=title)
    assert body.startswith("The council met") and "Harbour plan" not in body
    assert len(classified) == 2 * 4  # each line once for the pair, once for clean_text


def test_short_text_is_kept() -> None:
    assert boilerplate.clean_text("Markets closed higher.") == "Markets closed higher."


def test_boilerplate_only_is_empty() -> None:
    assert boilerplate.clean_text("Share:\nFollow us on Twitter\n12 Comments") == ""


COMMENTS = [
    "Maria K. on May 3, 2026 at 4:47 pm said:",
    (
        "I have taken that tram every day for ten years and it is always late in winter, "
        "so I am not sure four more stations will help anyone at all really."
    ),
    "Reply",
    "Tom B. on May 3, 2026 at 5:02 pm said:",
    (
        "The buses in the north are worse, and nobody on the council seems to care about the "
        "villages up there, which have waited for a decent service since the nineties."
    ),
    "Reply",
    "Ann L. on May 4, 2026 at 9:13 am said:",
    (
        "Four stations for that price is a scandal and the council should publish the whole "
        "contract, every page of it, before a single rail is laid on the coastal road."
    ),
    "Reply",
]


@pytest.mark.parametrize(
    "heading",
    [
        "3 Comments",
        "3 thoughts on \u201cCouncil extends tram line\u201d",
        "3 responses to \u201cCouncil extends tram line\u201d",
    ],
)
def test_a_longer_comment_thread_does_not_replace_the_article(heading: str) -> None:
    text = _page("Council extends tram line", *BODY, heading, *COMMENTS)
    assert boilerplate.clean_text(text) == "\n\n".join(BODY)


def test_an_article_broken_by_a_list_is_kept_whole() -> None:
    items = [
        "Station Harbour",
        "Station Market",
        "Station Old Town",
        "Station Airport",
        "Station North",
    ]
    text = _page(
        "Menu",
        "Sport",
        *BODY[:2],
        *items,
        BODY[2],
        "The council will publish the timetable in the autumn, officials said.",
    )
    out = boilerplate.clean_text(text)
    assert out.startswith(BODY[0]) and out.endswith("officials said.")
    assert "Station Market" in out and "Menu" not in out


def test_cjk_article_is_prose_and_archive_lists_are_not() -> None:
    article = [
        "市議会は火曜日、海岸線の路面電車を四駅延長することを決めた。",
        "工事は来年の春に始まり、およそ二年かかる見込みだと市の担当者は説明した。",
        "反対派は、その予算を北部の村を結ぶバスに回すべきだと主張している。",
    ]
    archive = "月別 2019年11月 2019年4月 2019年1月 2018年8月 2018年5月 2017年12月 2017年8月"
    assert boilerplate.clean_text(_page(archive, *article)) == "\n\n".join(article)


MORE_BODY = [
    (
        "The new stations will serve the harbour, the market, the old town and the airport, "
        "which has had no rail link since the branch line closed in 1974."
    ),
    (
        "A council spokesperson said the timetable would be published in the autumn, after a "
        "consultation with residents of the four districts along the route."
    ),
]


def test_an_article_split_by_a_gallery_is_kept_whole() -> None:
    captions = [
        f"The {place} stop, as drawn by the architects"
        for place in (
            "harbour",
            "market",
            "old town",
            "airport",
            "depot",
            "north quay",
            "bridge",
            "hospital",
            "university",
            "stadium",
        )
    ]
    out = boilerplate.clean_text(_page("Menu", *BODY, *captions, *MORE_BODY))
    assert out.startswith(BODY[0])
    assert out.endswith(MORE_BODY[1])
    assert "The depot stop, as drawn by the architects" in out


def test_prose_past_page_furniture_is_not_joined_to_the_article() -> None:
    teasers = [
        (
            "Bus drivers announce a strike over pay and conditions at the northern depots, "
            "the union said on Monday after talks with the operator broke down."
        ),
        (
            "The council approves a new budget for road repairs across the region after a long "
            "debate in which the opposition walked out twice."
        ),
    ]
    text = _page(
        *BODY,
        *MORE_BODY,
        "Share this article",
        "Bus strike called",
        "Road budget passed",
        "Ferry fares to rise",
        "Library reopens",
        *teasers,
    )
    assert boilerplate.clean_text(text) == "\n\n".join(BODY + MORE_BODY)


def test_a_short_caption_between_parts_of_an_article_does_not_cut_it() -> None:
    photos = ["Harbour", "Market", "Old Town", "Airport"]
    caption = "The harbour stop at dusk, drawn by architects."
    tail = (
        "Officials said the first trams would run on the extended line in 2029, "
        "a year later than the council had promised before the election."
    )
    out = boilerplate.clean_text(_page(*BODY, *MORE_BODY, *photos, caption, *photos, tail))
    assert out.startswith(BODY[0])
    assert out.endswith(tail)
    assert caption in out


def test_a_headline_closed_by_a_count_is_not_a_sentence() -> None:
    headline = "NFL says the quarterback did not appear at the workout (122)"
    assert rules.classify(headline) is rules.Kind.OTHER
    assert rules.classify(headline.removesuffix(" (122)") + ".") is rules.Kind.PROSE


def test_a_list_the_last_paragraph_introduces_is_kept() -> None:
    intro = "The first trams will stop at these stations from next June:"
    stations = ["Harbour (June 9)", "Market (June 10)", "Old Town (June 14)", "Airport (June 17)"]
    text = _page(*BODY, *MORE_BODY, intro, *stations, "", "Facebook", "Twitter", "Terms of Use")
    assert boilerplate.clean_text(text) == "\n\n".join([*BODY, *MORE_BODY, intro, *stations])


def test_a_tag_cloud_is_not_prose() -> None:
    cloud = (
        "Agriculture Budget Buses Careers Council Culture Education Elections Environment "
        "Harbour Health Housing Libraries Parks Planning Police Roads Schools Sport Trams"
    )
    assert rules.classify(cloud) is rules.Kind.OTHER
    text = _page("Topics", cloud, cloud.lower(), "Archive", *BODY)
    assert boilerplate.clean_text(text) == "\n\n".join(BODY)


@pytest.mark.parametrize(
    "line",
    [
        # Hindi ends sentences with a danda, Thai with a space
        "नगर परिषद ने मंगलवार को तटीय ट्राम लाइन को चार स्टेशनों तक बढ़ाने का फैसला किया और काम अगले वसंत में शुरू होगा।",  # noqa: E501
        (
            "สภาเมืองลงมติเมื่อวันอังคาร ให้ขยายเส้นทางรถรางชายฝั่ง อีกสี่สถานี การก่อสร้างจะเริ่มในฤดูใบไม้ผลิหน้า "
            "และใช้เวลาประมาณสองปี ตามที่ เจ้าหน้าที่ ของ สภา กล่าว ไว้ ใน วันนี้ ด้วย ความ มั่นใจ"
        ),
    ],
)
def test_long_lines_in_scripts_without_latin_punctuation_are_prose(line: str) -> None:
    assert rules.classify(line) is rules.Kind.PROSE


@pytest.mark.parametrize("marker", ["DON'T MISS", "Also read:"])
def test_a_promo_inside_the_article_does_not_end_it(marker: str) -> None:
    promos = ["Bus strike called", "Road budget passed", "Ferry fares to rise", "Library reopens"]
    text = _page(*BODY, marker, *promos, *MORE_BODY)
    assert boilerplate.clean_text(text) == "\n\n".join(BODY + MORE_BODY)


def test_related_stories_still_end_the_article() -> None:
    teasers = [
        (
            "Bus drivers announce a strike over pay and conditions at the northern depots, "
            "the union said on Monday after talks with the operator broke down."
        ),
        (
            "The council approves a new budget for road repairs across the region after a long "
            "debate in which the opposition walked out twice."
        ),
    ]
    promos = ["Bus strike called", "Road budget passed", "Ferry fares to rise", "Library reopens"]
    text = _page(*BODY, *MORE_BODY, "Related Stories", *promos, *teasers)
    assert boilerplate.clean_text(text) == "\n\n".join(BODY + MORE_BODY)


def test_a_related_box_before_the_longer_part_of_the_article_does_not_split_it() -> None:
    promos = ["Bus strike called", "Road budget passed", "Ferry fares to rise"]
    later = [
        *MORE_BODY,
        (
            "Engineers expect the line to carry about twelve thousand passengers a day once "
            "all four stations are open, twice as many as the buses it replaces."
        ),
        (
            "The contract for the rails and the overhead wires will be tendered in January, "
            "and the council hopes to sign it before the summer holidays."
        ),
    ]
    text = _page("Menu", *BODY, "Related Stories", *promos, *later)
    assert boilerplate.clean_text(text) == "\n\n".join(BODY + later)


def test_a_table_the_article_introduces_counts_as_its_text() -> None:
    intro = [
        "The regional cycling league ended on Sunday with a sprint finish in the harbour.",
        "These are the final standings of the league after all 36 races:",
    ]
    table = [
        f"{rank} Rider {chr(64 + rank)} {5100 - 37 * rank} {rank % 4} {rank % 3}"
        for rank in range(1, 26)
    ]
    teasers = [
        (
            "Bus drivers announce a strike over pay and conditions at the northern depots, "
            "the union said on Monday after talks with the operator broke down."
        ),
        (
            "The council approves a new budget for road repairs across the region after a long "
            "debate in which the opposition walked out twice."
        ),
        (
            "A new library opens in the old post office building next month, with a reading room "
            "for children and longer opening hours at weekends."
        ),
    ]
    text = _page("Menu", *intro, *table, "More stories", *teasers)
    assert boilerplate.clean_text(text) == "\n\n".join(intro + table)


def test_a_list_with_a_long_item_is_kept_to_its_end() -> None:
    dates = [
        "June 9 - Harbour Hall",
        "June 10 - Market Square",
        (
            "June 14 - Old Town Amphitheatre, the open-air stage by the river next to the "
            "bridge and the old customs house"
        ),
        "June 17 - Airport Arena",
        "June 19 - North Quay",
    ]
    assert rules.classify(dates[2]) is rules.Kind.PROSE
    text = _page(*BODY, *MORE_BODY, "", "Tour dates", *dates, "", "Terms of Use", "Contact")
    out = boilerplate.clean_text(text)
    assert out.endswith("June 19 - North Quay")
    assert "Terms of Use" not in out


def test_a_heading_glued_to_the_first_sentence_is_split() -> None:
    title = "Council extends tram line"
    text = _page(f"{title} | Example Times", "Share:", title + BODY[0], BODY[1], BODY[2])
    assert boilerplate.clean_text(text) == "\n\n".join(BODY)
    extracted = _page(title + BODY[0], BODY[1], BODY[2])
    assert boilerplate.clean_text(extracted, title=title, extracted=True) == "\n\n".join(BODY)


def test_names_with_inner_capitals_are_not_split() -> None:
    body = [
        "Shares in WeWork fell after the company said it would cut 4,000 jobs this year.",
        "Analysts at McDonald Partners said the cuts were deeper than the market expected.",
    ]
    text = _page("WeWork to cut jobs", *body)
    assert boilerplate.clean_text(text) == "\n\n".join(body)


@pytest.mark.parametrize(
    "lead_in",
    ["A police spokesman said:", "Mr Johnson said:", "In a statement, the ministry said:"],
)
def test_a_line_introducing_a_quote_is_the_articles(lead_in: str) -> None:
    quote = (
        "\u201cWe will look at every option before the line opens, and we will listen to "
        "the residents of the northern villages.\u201d"
    )
    text = _page(BODY[0], BODY[1], lead_in, quote, BODY[2])
    out = boilerplate.clean_text(text)
    assert lead_in in out and out.endswith(BODY[2])


def test_a_drop_cap_split_from_its_word_is_joined_again() -> None:
    text = (
        "H ong Kong is burning. The protesters in Hong Kong held the campus for a week.\n\n"
        "A man was arrested on Monday and released later without charge by the police.\n\n"
        "T he police said the protests would go on, and the city braced for more of them."
    )
    assert boilerplate.clean_text(text).split("\n\n") == [
        "Hong Kong is burning. The protesters in Hong Kong held the campus for a week.",
        "A man was arrested on Monday and released later without charge by the police.",
        "The police said the protests would go on, and the city braced for more of them.",
    ]
