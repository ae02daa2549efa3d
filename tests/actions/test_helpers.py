"""The three activation helpers, their RNG use and their logging (never message text)."""

from __future__ import annotations

import logging
import random

import pytest

from actions import BaseAction
from tests.actions.actions_testkit import FakeLLM, make_ctx


class Probe(BaseAction):
    action_name = "probe"
    action_description = "a probe"
    action_require = ("when testing",)


async def test_random_activation_uses_ctx_rng() -> None:
    rolls = [random.Random(7).random() for _ in range(1)]
    a = Probe(make_ctx(seed=7))
    assert await a._random_activation(0.5) is (rolls[0] < 0.5)
    results = [await Probe(make_ctx(seed=s))._random_activation(0.3) for s in range(200)]
    assert 30 < sum(results) < 90
    assert [await Probe(make_ctx(seed=s))._random_activation(0.3) for s in range(200)] == results


async def test_random_activation_bounds() -> None:
    a = Probe(make_ctx())
    assert await a._random_activation(0.0) is False
    assert await a._random_activation(1.0) is True
    with pytest.raises(ValueError, match="probability must be in"):
        await a._random_activation(1.5)


async def test_keyword_match_case_insensitive_by_default() -> None:
    a = Probe(make_ctx("nothing here", "Well HELLO friends"))
    assert await a._keyword_match(["hello"]) is True
    assert await a._keyword_match(["hello"], case_sensitive=True) is False
    assert await a._keyword_match(["HELLO"], case_sensitive=True) is True
    assert await a._keyword_match(["bye", "ciao"]) is False
    assert await a._keyword_match(["你好"]) is False
    assert await Probe(make_ctx("大家你好"))._keyword_match(["你好", "hi"]) is True


async def test_keyword_match_ignores_bot_messages_and_empty_keywords() -> None:
    from actions import ActionContext, ChatMessage

    ctx = ActionContext(1, 2, "neutral", messages=[ChatMessage("bot", "hello", is_bot=True)])
    assert await Probe(ctx)._keyword_match(["hello"]) is False
    assert await Probe(make_ctx("anything"))._keyword_match([""]) is False


async def test_keyword_log_names_keywords_not_text(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="actions")
    a = Probe(make_ctx("my secret plan involves hello"))
    assert await a._keyword_match(["hello", "nope"])
    assert "matched ['hello']" in caplog.text
    assert "secret" not in caplog.text


async def test_random_log_shows_roll(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="actions")
    await Probe(make_ctx(seed=3))._random_activation(0.3)
    assert "random activation for 'probe': probability=0.300 roll=" in caplog.text


async def test_llm_judge_single_bare_answer_and_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="actions")
    llm = FakeLLM("是")
    a = Probe(make_ctx("I feel so sad today"))
    assert await a._llm_judge_activation("Is the user sad?", llm) is True
    prompt, _system, purpose = llm.calls[0]
    assert purpose == "judge" and "Is the user sad?" in prompt and "a probe" in prompt
    assert "when testing" in prompt
    assert "answer='是' -> activate" in caplog.text
    assert "sad today" not in caplog.text


async def test_llm_judge_uses_ctx_llm_and_overrides() -> None:
    llm = FakeLLM("probe: no")
    a = Probe(make_ctx("x", llm=llm))
    assert (
        await a._llm_judge_activation(
            "q?", None, action_description="custom desc", action_require=["r1"]
        )
        is False
    )
    assert "custom desc" in llm.calls[0][0] and "r1" in llm.calls[0][0]


async def test_llm_judge_without_llm_is_no() -> None:
    assert await Probe(make_ctx("x"))._llm_judge_activation("q?") is False


async def test_llm_judge_error_is_no(caplog: pytest.LogCaptureFixture) -> None:
    llm = FakeLLM(lambda *_: RuntimeError("server exploded"))
    assert await Probe(make_ctx("x"))._llm_judge_activation("q?", llm) is False
    assert "LLM judge failed" in caplog.text


async def test_send_text_and_emoji_fill_outbox() -> None:
    ctx = make_ctx("x")
    a = Probe(ctx)
    assert await a.send_text("hi", reply_to=5) is True
    assert await a.send_emoji("🎉") is True
    assert await a.send_text("   ") is False
    assert [(m.text, m.kind, m.reply_to, m.action, m.channel_id) for m in ctx.outbox] == [
        ("hi", "text", 5, "probe", 2),
        ("🎉", "emoji", None, "probe", 2),
    ]


async def test_get_config() -> None:
    a = Probe(make_ctx(config={"probe": {"greeting": "hey", "feeds": {"urls": ["u"]}}}))
    assert a.get_config("greeting") == "hey"
    assert a.get_config("feeds.urls") == ["u"]
    assert a.get_config("missing", 3) == 3
    assert a.get_config() == {"greeting": "hey", "feeds": {"urls": ["u"]}}
