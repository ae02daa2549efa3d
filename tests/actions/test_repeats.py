"""A guild does not hear a line it heard among its last few: templates pick another phrase, and an
LLM answer it just heard is replaced by a template it did not hear either.

The memory (`actions.repeats.RecentLines`) is per guild, in memory only, bounded (a few hashes a
guild, an LRU over guilds). Randomness is seeded: the seeds are chosen so that, without the
memory, the same line would come again (each test shows that control).
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import pytest

from actions import ActionContext, ContentWriter, RecordingObserver, TemplateBank
from actions.content import default_templates
from actions.repeats import RecentLines
from actors.loop.assembly import action_registry, build_actions
from config import Config
from tests.actions.actions_testkit import FakeLLM, decision
from tests.actions.llm_server import FakeLLMServer, fake_llm_server

BANK = TemplateBank(
    {
        "break_silence": {
            "neutral": ["A line.", "B line.", "C line."],
            "shy": ["Um, A.", "Um, B."],
        },
        "generic": {"neutral": ["G."]},
    }
)
SEED = 2  # Random(2) picks "A line." three times in a row from BANK's neutral phrases


def ctx_for(
    guild_id: int = 1, *, seed: int = SEED, mood: str = "neutral", **kw: object
) -> ActionContext:
    return ActionContext(guild_id, 10, mood, rng=random.Random(seed), **kw)  # type: ignore[arg-type]


async def lines(writer: ContentWriter, ctx: ActionContext, n: int) -> list[str]:
    return [(await writer.write(ctx, "break_silence")).text for _ in range(n)]


# -- templates --------------------------------------------------------------------------------


def test_control_without_the_memory_the_seed_repeats() -> None:
    rng = random.Random(SEED)
    assert [BANK.render("break_silence", "neutral", rng, {}) for _ in range(3)] == ["A line."] * 3


async def test_a_guild_hears_every_phrase_before_one_comes_again() -> None:
    writer = ContentWriter(templates=BANK)
    said = await lines(writer, ctx_for(), 3)
    assert sorted(said) == ["A line.", "B line.", "C line."]
    # every phrase heard lately: the one heard longest ago, never the last one
    assert await lines(writer, ctx_for(seed=SEED + 1), 3) == said


async def test_the_memory_is_per_guild() -> None:
    writer = ContentWriter(templates=BANK)
    first = await lines(writer, ctx_for(1), 1)
    assert await lines(writer, ctx_for(2), 1) == first  # guild 2 did not hear it
    assert await lines(writer, ctx_for(1), 1) != first


async def test_when_the_moods_phrases_are_used_up_the_neutral_ones_come() -> None:
    writer = ContentWriter(templates=BANK)
    said = await lines(writer, ctx_for(mood="shy"), 4)
    assert sorted(said[:2]) == ["Um, A.", "Um, B."]
    assert set(said[2:]) <= {"A line.", "B line.", "C line."} and said[2] != said[3]


async def test_placeholders_count_as_written() -> None:
    """A line is what the guild heard: the same phrase for two users is two lines."""
    bank = TemplateBank(
        {"engage_user": {"neutral": ["Hi {user}!"]}, "generic": {"neutral": ["G."]}}
    )
    writer = ContentWriter(templates=bank)
    for user in (7, 8):
        ctx = ctx_for(decision=decision("engage_user", user_id=user))
        assert (await writer.write(ctx, "engage_user")).text == f"Hi <@{user}>!"


async def test_the_shipped_banks_with_the_production_writer() -> None:
    """Seed 0 picks the same neutral break_silence phrase twice from the shipped bank."""
    bank = default_templates().banks["break_silence"]["neutral"]
    rng = random.Random(0)
    assert rng.choice(bank) == rng.choice(bank)  # the control
    _, writer = build_actions(Config(), action_registry())
    said = await lines(writer, ctx_for(seed=0), 3)
    assert len(set(said)) == 3


# -- the LLM ------------------------------------------------------------------------------------


async def test_an_llm_line_the_guild_just_heard_falls_back_to_a_fresh_template() -> None:
    writer = ContentWriter(FakeLLM("Same old line."), templates=BANK)
    writer.recent.add(1, "A line.")  # and the seed would pick "A line." next
    seen = RecordingObserver()
    first = await writer.write(ctx_for(observer=seen), "break_silence")
    again = await writer.write(ctx_for(observer=seen), "break_silence")
    assert (first.text, first.source) == ("Same old line.", "llm")
    assert again.source == "template" and again.llm_outcome == "repeat" and again.fell_back
    assert again.text in ("B line.", "C line.")
    # the request itself went well; the fallback is what is counted
    assert [(r.purpose, r.outcome) for r in seen.requests] == [("content", "success")] * 2
    assert seen.fallbacks == ["break_silence"]


async def test_an_llm_answer_equal_to_a_recent_template_line_is_a_repeat() -> None:
    writer = ContentWriter(FakeLLM("  a   LINE.  "), templates=BANK)
    writer.recent.add(1, "A line.")
    written = await writer.write(ctx_for(), "break_silence")
    assert (written.source, written.llm_outcome) == ("template", "repeat")
    assert written.text != "A line."


async def test_control_new_llm_lines_are_all_sent() -> None:
    answers = iter(["One.", "Two.", "Three."])
    writer = ContentWriter(FakeLLM(lambda *_: next(answers)), templates=BANK)
    said = await lines(writer, ctx_for(), 3)
    assert said == ["One.", "Two.", "Three."]


@pytest.fixture
async def server() -> AsyncIterator[FakeLLMServer]:
    async with fake_llm_server() as s:
        yield s


async def test_an_llm_repeat_through_the_production_wiring(server: FakeLLMServer) -> None:
    server.default = lambda body: "Anyone up for a game?"
    modifier, writer = build_actions(Config(llm=server.config()), action_registry())
    seen = RecordingObserver()
    sent = []
    try:
        for _ in range(2):
            ctx = ctx_for(
                decision=decision("break_silence"), llm=writer.llm, writer=writer, observer=seen
            )
            report = await modifier.activate(ctx)
            assert (await modifier.execute(report.actions["break_silence"])).ok
            sent += [(m.text, m.source) for m in ctx.outbox]
    finally:
        await writer.llm.close()  # type: ignore[union-attr]
    assert sent[0] == ("Anyone up for a game?", "llm")
    assert sent[1][1] == "template" and sent[1][0] != sent[0][0]
    assert seen.fallbacks == ["break_silence"]


# -- the memory itself ----------------------------------------------------------------------------


def test_a_guild_remembers_its_last_few_lines_newest_first() -> None:
    recent = RecentLines(per_guild=3)
    for text in ["one", "two", "three"]:
        recent.add(1, text)
    assert [recent.age(1, t) for t in ["three", "two", "one"]] == [0, 1, 2]
    recent.add(1, "four")
    assert not recent.heard(1, "one") and recent.age(1, "four") == 0
    recent.add(1, "two")  # heard again: the newest, once
    assert [recent.age(1, t) for t in ["two", "four", "three"]] == [0, 1, 2]
    assert recent.heard(1, "  TWO ") and not recent.heard(2, "two")


def test_an_lru_over_guilds_bounds_the_memory() -> None:
    recent = RecentLines(per_guild=2, max_guilds=3)
    for guild in (1, 2, 3):
        recent.add(guild, "hi")
    recent.add(1, "again")  # guild 1 spoke last: guild 2 is now the oldest
    recent.add(4, "hi")
    assert len(recent) == 3
    assert not recent.heard(2, "hi") and recent.heard(1, "hi") and recent.heard(4, "hi")


def test_many_guilds_stay_bounded_and_only_hashes_are_kept() -> None:
    recent = RecentLines(per_guild=4, max_guilds=100)
    for guild in range(100_000):
        recent.add(guild, f"line {guild % 7}")
    assert len(recent) == 100
    assert recent.heard(99_999, "line 4") and not recent.heard(0, "line 0")  # 99_999 % 7 == 4
    # hashes, not text: nothing a guild heard is kept as a string
    kept = list(recent._lines.values())
    assert all(isinstance(k, int) for keys in kept for k in keys)


def test_sizes_are_checked() -> None:
    with pytest.raises(ValueError, match="per_guild must be >= 1, got 0"):
        RecentLines(per_guild=0)
    with pytest.raises(ValueError, match="max_guilds must be >= 1, got 0"):
        RecentLines(max_guilds=0)
