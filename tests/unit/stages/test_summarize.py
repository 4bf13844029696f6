from __future__ import annotations

from schemas import CleanedArticle, Sentence
from schemas.models import StageRun
from workers.stages.summarize import ELLIPSIS, select, summarize, word_count
from workers.stages.tag import Tagger, rule_sentences

NOW = "2026-01-01T00:00:00.000Z"


def _sents(text: str) -> list[Sentence]:
    return rule_sentences(text)


TEXT = (
    "BREAKING NEWS\nThe council approved the budget on Monday after a long debate. "
    "It includes money for three new schools in the north. Critics objected. "
    "The mayor said more would come next year if revenues rise."
)


def test_up_to_three_whole_sentences_in_order_skipping_headings() -> None:
    out = select(TEXT, _sents(TEXT), count=3)
    assert out == (
        "The council approved the budget on Monday after a long debate. "
        "It includes money for three new schools in the north. "
        "The mayor said more would come next year if revenues rise."
    )


def test_count_and_character_budget() -> None:
    assert select(TEXT, _sents(TEXT), count=1).count(".") == 1
    out = select(TEXT, _sents(TEXT), count=3, max_chars=100)
    assert out == "The council approved the budget on Monday after a long debate."


def test_one_sentence_article_and_never_empty() -> None:
    assert (
        select("Markets closed higher.", _sents("Markets closed higher."), count=3)
        == "Markets closed higher."
    )
    assert select("SHORT HEADLINE", _sents("SHORT HEADLINE"), count=3) == "SHORT HEADLINE"
    long = "A " * 200 + "end."  # 404 characters: over the budget, under twice it
    assert select(long, _sents(long), count=3, max_chars=300) == long.strip()


def test_a_first_sentence_over_twice_the_budget_is_cut_at_a_word_break() -> None:
    # a run-on of thousands of words, a text without sentence marks, and one without
    # spaces were summaries as long as the article (up to the whole 300,000-character
    # tagging budget and past it)
    run_on = "The council met on Monday and " + " and ".join(
        f"board {i} agreed" for i in range(3000)
    )
    unmarked = " ".join(f"word{i}" for i in range(20_000))
    unspaced = "中文新闻报道内容，" * 3000 + "。"
    for text in (run_on + ".", unmarked, unspaced):
        out = select(text, _sents(text), count=3, max_chars=450)
        assert out.endswith(ELLIPSIS) and 225 <= len(out) <= 451
        assert text.startswith(out.removesuffix(ELLIPSIS))
    assert select(run_on + ".", _sents(run_on + "."), count=3, max_chars=450) == (
        run_on[: run_on.rindex(" ", 0, 451)] + ELLIPSIS
    )
    assert select(unspaced, _sents(unspaced), count=3, max_chars=450).endswith("容" + ELLIPSIS)
    # no budget: whole sentences
    assert select(unmarked, _sents(unmarked), count=3) == unmarked


def test_word_count() -> None:
    assert word_count("It's 3 o'clock, in Zürich.") == 7


def test_enriched_record_has_summary_offsets_entity_list_and_keywords(tagger: Tagger) -> None:
    text = (
        "Xi Jinping met Vladimir Putin in Moscow on Monday for talks on trade. "
        "Xi said the Shanghai Cooperation Organization (SCO) would meet in China. "
        "Putin agreed that the SCO summit should go ahead in the autumn as planned. "
        "Officials in Moscow said the trade talks would continue next month."
    )
    cleaned = CleanedArticle(
        id="a",
        url=None,
        source=None,
        title="Putin hosts Xi",
        published_at=None,
        language="en",
        language_confidence=1.0,
        text=text,
        pipeline={"clean": StageRun(version="1", finished_at=NOW)},
    )
    tagged = tagger.tag_batch([cleaned], now=NOW)[0]
    out = summarize(tagged, now=NOW, count=2)
    assert out.summary == " ".join(text[s.start : s.end] for s in out.summary_sentences)
    assert len(out.summary_sentences) == 2
    names = [e.name for e in out.entity_list]
    assert names[:2] == ["Xi Jinping", "Vladimir Putin"]
    assert len(names) == len(set(names))
    saliences = [e.salience for e in out.entity_list]
    assert saliences == sorted(saliences, reverse=True)
    assert out.keywords[0] == "Xi Jinping" and 5 <= len(out.keywords) <= 10


def test_no_furniture_in_a_summary() -> None:
    text = (
        "By . Daily Mail Reporter . PUBLISHED: . 10:03 EST, 1 May 2013 .\n"
        "UPDATED: . 11:40 EST, 1 May 2013 .\n"
        "Scroll down for video.\n"
        "Messages » Harbour news » The new bridge is open…\n"
        "Pictured: The new bridge at dusk, seen from the harbour wall.\n"
        "Devastated: Dawn, who lost her home, was furious with the council.\n"
        "The new bridge across the harbour opened on Monday after three years of work. "
        "It carries trams and cyclists but no cars. Click here to watch the video of it.\n"
        "The council expects forty thousand crossings a day."
    )
    out = select(text, _sents(text), count=3)
    assert out == (
        "The new bridge across the harbour opened on Monday after three years of work. "
        "It carries trams and cyclists but no cars. "
        "The council expects forty thousand crossings a day."
    )


def test_a_dateline_is_left_out_of_the_first_sentence() -> None:
    for dateline in ("LONDON (Reuters) - ", "(CNN) ", "WASHINGTON (AP) — "):
        text = f"{dateline}The central bank held rates at five percent on Thursday, as expected."
        assert select(text, _sents(text), count=1) == (
            "The central bank held rates at five percent on Thursday, as expected."
        )


def test_a_summary_never_opens_with_a_dangling_pronoun_or_connective() -> None:
    text = (
        "He said the plan would fail within a year. "
        "But the council voted for it anyway on Monday night. "
        "The harbour council approved the ferry plan by seven votes to two. "
        "It will cost twelve million euros over five years."
    )
    out = select(text, _sents(text), count=2)
    assert out == (
        "The harbour council approved the ferry plan by seven votes to two. "
        "It will cost twelve million euros over five years."
    )
    moment = "This is the moment a guard slipped on a manhole cover in front of tourists."
    assert select(moment, _sents(moment), count=1) == moment  # "This is": no referent missing
    for opener in ("It has been revealed that", "It's now been revealed that", "It is unclear if"):
        expletive = f"{opener} the singer joined the campaign for a shampoo brand."
        assert select(expletive, _sents(expletive), count=1) == expletive  # "it" is the clause
    fell = "It fell by a third in a year. The price of gas fell by a third in a year."
    assert select(fell, _sents(fell), count=1) == "The price of gas fell by a third in a year."
    quoted = "'He was the kindest man I knew,' his widow said. The mayor died on Monday aged 71."
    assert select(quoted, _sents(quoted), count=1) == "The mayor died on Monday aged 71."


def test_a_budget_never_skips_to_furniture_when_the_first_sentence_is_long() -> None:
    # the first sentence that reads as one is taken even over the budget: falling back
    # to the text's first sentence would pick the stamp
    text = (
        "PUBLISHED: 10:31 GMT, 4 May 2015. "
        "The council approved a budget of four million euros on Monday after a debate "
        "that ran late into the night. It includes money for schools."
    )
    out = select(text, _sents(text), count=4, max_chars=40)
    assert out.startswith("The council approved") and "It includes" not in out


def test_a_caption_glued_to_the_body_and_repeated_there_is_not_in_the_summary() -> None:
    # a page's caption lost its line break: the tag stage splits it off (it has no full
    # stop, so it is no sentence), and a sentence that mostly repeats one already taken
    # is skipped
    text = (
        "A sniper rifle was stolen from an agent's car at a hotel parking lot "
        "A sniper rifle was stolen from an agent's car at a hotel parking lot on Monday. "
        "A sniper rifle was stolen from the car of an agent at a hotel on Monday. "
        "Police said the case had been secured with padlocks and chains."
    )
    out = select(text, _sents(text), count=3)
    assert out == (
        "A sniper rifle was stolen from an agent's car at a hotel parking lot on Monday. "
        "Police said the case had been secured with padlocks and chains."
    )


def test_a_picture_caption_that_says_where_people_stand_is_not_in_the_summary() -> None:
    text = (
        "Neymar and Dani Alves watched the basketball derby on Thursday night.\n"
        "Brazil star Neymar (centre) takes a selfie with team-mate Dani Alves (right)\n"
        "Barcelona won the game by five points in front of a full arena."
    )
    out = select(text, _sents(text), count=3)
    assert "selfie" not in out and out.endswith("full arena.")
    # a position in a sentence that ends as one is the article's own
    inline = "Neymar (left) and Alves (right) watched the game on Thursday night."
    assert select(inline, _sents(inline), count=1) == inline


def test_a_dateline_after_captions_or_teasers_starts_the_summary_without_it() -> None:
    teasers = (
        "MN property taxes are on the rise. These maps show where and how much.\n"
        "BUFFALO, New York — Hours before the game, the coach said the winger would score. "
        "He scored twice in the first period."
    )
    assert select(teasers, _sents(teasers), count=2) == (
        "Hours before the game, the coach said the winger would score. "
        "He scored twice in the first period."
    )
    caption = (
        "Above: A coworking space in San Francisco.\n"
        "(Reuters) — The state attorney general is investigating the company, sources say."
    )
    assert select(caption, _sents(caption), count=2) == (
        "The state attorney general is investigating the company, sources say."
    )


def test_datelines_in_every_form_are_left_out() -> None:
    datelines = (
        "HANOI, Vietnam (AP) — ",
        "Dekalb, Illinois — ",
        "Indianapolis – ",
        "MADRID — ",
        "Rome (CNN) ",
        "Sao Paulo, Brazil (Reuters) - ",
    )
    for dateline in datelines:
        text = f"{dateline}Several thousand teachers rallied on Tuesday for better pay."
        assert select(text, _sents(text), count=1) == (
            "Several thousand teachers rallied on Tuesday for better pay."
        ), dateline
    # a title-case name before a dash that is no place stays
    queen = "The Queen — Elizabeth II — opened the new bridge on Monday morning."
    assert select(queen, _sents(queen), count=1) == queen
    # a title-case name before a ticker, not a news agency, stays
    apple = "Apple (AAPL) Shares rose by four percent in early trading on Monday."
    assert select(apple, _sents(apple), count=1) == apple


def test_invitations_and_stamps_are_not_in_a_summary() -> None:
    text = (
        "A video of the rescue was released on Monday by the city police.\n"
        "(Published Monday, Nov. 18, 2019)\n"
        "Sign up for the free daily newsletter.\n"
        "Get breaking news alerts and special reports.\n"
        "Join our WhatsApp group for the latest city news.\n"
        "Join the Harbour Daily Newsletter.\n"
        "Follow us on Twitter @harbourdaily for the latest.\n"
        "To get the latest news, subscribe to our YouTube Channel.\n"
        "The suspect was sentenced to life in prison last Thursday."
    )
    assert select(text, _sents(text), count=3) == (
        "A video of the rescue was released on Monday by the city police. "
        "The suspect was sentenced to life in prison last Thursday."
    )
    for news in (
        "Britain voted to join the group of nations in a referendum in 1975.",
        "The port authority will join a group of lenders to fund the new terminal.",
    ):
        assert select(news, _sents(news), count=1) == news


def test_bylines_credits_time_stamps_dated_captions_and_disclaimers_are_not_sentences() -> None:
    text = (
        "By Louis Jacobson on Monday, November 18th, 2019 at 11:04 a.m.\n"
        "An MSC cargo ship leaves PortMiami, on August 31, 2019.\n"
        "A cyclist rides past a blocked plant in La Paz, Bolivia, November 19, 2019.\n"
        "In this Dec. 12, 2006, file photo, two astronauts walk in space above Earth.\n"
        "Opinions expressed by Forbes Contributors are their own.\n"
        "Monday, November 18, 2019, 04:05 pm PT (07:05 pm ET) Welcome to the new laptop.\n"
        "More than 4,000 people are expected to lose their jobs (Credit: iStock)\n"
        "(Image: Getty Images) The vote was held on November 19, 2019.\n"
        "(Image: harbourphoto / Getty Images)"
    )
    assert select(text, _sents(text), count=3) == (
        "Welcome to the new laptop. The vote was held on November 19, 2019."
    )
    prose = "By Monday, the council will vote on the plan to close the school."
    assert select(prose, _sents(prose), count=1) == prose


def test_a_fragment_that_opens_in_lower_case_is_not_a_sentence() -> None:
    text = (
        "awareness campaign has been facing mockery since it was introduced on Monday.\n"
        "iPhone sales rose by a tenth in the third quarter of the year.\n"
        "The state health department defended the campaign in a statement."
    )
    assert select(text, _sents(text), count=2) == (
        "iPhone sales rose by a tenth in the third quarter of the year. "
        "The state health department defended the campaign in a statement."
    )


def test_a_french_summary_leaves_out_french_furniture_and_dangling_openers() -> None:
    text = (
        "Publié le 4 décembre 2026 à 10 h 30.\n"
        "Par Jean Dupont, envoyé spécial.\n"
        "Il a été reçu jeudi par le président de la République à Paris.\n"
        "Le chancelier allemand Olaf Scholz a rencontré jeudi Emmanuel Macron à Paris.\n"
        "Rejoignez notre groupe WhatsApp pour ne rien manquer de l'actualité.\n"
        "Les deux dirigeants ont évoqué la défense européenne et l'aide à l'Ukraine.\n"
        "À lire aussi : la réforme du marché européen de l'électricité divise."
    )
    out = select(text, _sents(text), count=3, language="fr")
    assert out == (
        "Le chancelier allemand Olaf Scholz a rencontré jeudi Emmanuel Macron à Paris. "
        "Les deux dirigeants ont évoqué la défense européenne et l'aide à l'Ukraine."
    )
    # the same text taken as English keeps what only French's rules leave out
    assert "Rejoignez" in select(text, _sents(text), count=5)
    aside = (
        "Le conseil municipal de Lyon a voté mardi soir le budget de la ville. "
        "Par ailleurs, il a approuvé la rénovation de trois écoles du centre."
    )
    assert select(aside, _sents(aside), count=2, language="fr") == aside  # not a byline
