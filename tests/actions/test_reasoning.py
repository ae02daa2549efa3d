"""A reasoning model's thinking never reaches Discord, a judge's verdict or the planner.

`actions.reasoning.final_answer` keeps the final answer; `ask_llm` applies it to every answer, and
the OpenAI-compatible client applies it before its length cut and never reads
``reasoning_content``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from actions import (
    BUILTIN_ACTIONS,
    ActionActivationType,
    ActionModifier,
    BaseAction,
    ContentWriter,
    LLMPlanner,
    OpenAICompatibleClient,
    RecordingObserver,
    parse_judge_answer,
)
from actions.content import default_templates
from actions.reasoning import final_answer
from tests.actions.actions_testkit import FakeLLM, decision, make_ctx
from tests.actions.llm_server import FakeLLMServer, completion, fake_llm_server

SECRET = "the user seems lonely, I will pretend"


@pytest.fixture
async def server() -> AsyncIterator[FakeLLMServer]:
    async with fake_llm_server() as s:
        yield s


@pytest.mark.parametrize(
    ("answer", "final"),
    [
        ("<think>plan the words</think>Hello there!", "Hello there!"),
        ("<think>\nplan\n</think>\n\nHello there!", "Hello there!"),
        ("<THINK>plan</THINK>Hello", "Hello"),  # any case
        ("<Think>plan</tHiNk>Hello", "Hello"),
        ("<thinking>plan</thinking>Hello", "Hello"),
        ("<reasoning>plan</reasoning>Hello", "Hello"),
        ('<think type="long">plan</think>Hello', "Hello"),  # attributes
        ("<think>a</think>Hello<think>b</think> world", "Hello world"),  # several blocks
        ("<think>a</think><reasoning>b</reasoning>Hello", "Hello"),
        ("<think>a<think>b</think>c</think>Hello", "Hello"),  # a block inside a block
        ("<think>I should say something nice, maybe", ""),  # cut while thinking: no answer
        ("<think>done</think>Hi <think>and then I was cut", "Hi"),
        ("The user greets me, so I greet back.</think>Hi!", "Hi!"),  # the opening tag stripped
        ("reasoning</think>\n</think>Hi!", "Hi!"),
        ("<think>a</think>", ""),  # reasoning only
        ("<think></think>Hello", "Hello"),  # an empty block
        ("  Hello  ", "Hello"),  # no tags
        ("a < b and <b>bold</b> stays", "a < b and <b>bold</b> stays"),  # other tags are text
        ("I think so", "I think so"),  # the word, not a tag
        ("<thinker>Hello", "<thinker>Hello"),
        ("", ""),
    ],
)
def test_final_answer(answer: str, final: str) -> None:
    assert final_answer(answer) == final


# -- content: through the real client and a real execute() -----------------------------------


async def reply_round(client: OpenAICompatibleClient) -> tuple[list[str], RecordingObserver]:
    """`reply` executed by the modifier with a writer on `client`: the texts queued."""
    seen = RecordingObserver()
    ctx = make_ctx("Miku, are you there?", addressed=True, observer=seen, llm=client)
    ctx.writer = ContentWriter(client)
    modifier = ActionModifier(BUILTIN_ACTIONS)
    report = await modifier.activate(ctx)
    try:
        result = await modifier.execute(report.actions["reply"])
    finally:
        await client.close()
    assert result.ok, result.reason
    return [m.text for m in ctx.outbox], seen


@pytest.mark.parametrize(
    "answer",
    [
        f"<think>{SECRET}</think>I'm here! What's up?",
        f"<THINKING>{SECRET}</THINKING>\nI'm here! What's up?",
        f"{SECRET}</think>I'm here! What's up?",
        f"<reasoning>{SECRET}</reasoning><think>{SECRET}</think>I'm here! What's up?",
    ],
)
async def test_only_the_final_answer_is_posted(server: FakeLLMServer, answer: str) -> None:
    server.script = [answer]
    texts, seen = await reply_round(server.client())
    assert texts == ["I'm here! What's up?"]
    assert [(r.purpose, r.outcome) for r in seen.requests] == [("content", "success")]
    assert seen.fallbacks == []


@pytest.mark.parametrize(
    "answer", [f"<think>{SECRET}", f"<think>{SECRET}</think>", f"<think>{SECRET}</think>  \n"]
)
async def test_reasoning_without_an_answer_is_empty_and_a_template_speaks(
    server: FakeLLMServer, answer: str
) -> None:
    server.script = [answer]
    texts, seen = await reply_round(server.client())
    assert texts[0] in default_templates().banks["reply"]["neutral"]
    assert [(r.purpose, r.outcome) for r in seen.requests] == [("content", "empty")]
    assert seen.fallbacks == ["reply"]


async def test_reasoning_content_is_never_posted(server: FakeLLMServer) -> None:
    server.script = [completion("I'm here!", reasoning_content=SECRET)]
    texts, _ = await reply_round(server.client())
    assert texts == ["I'm here!"]
    # the thinking came only in reasoning_content, the answer is missing: a template speaks
    for content in (None, ""):
        server.script = [completion(content, reasoning_content=SECRET)]
        texts, seen = await reply_round(server.client())
        assert SECRET not in texts[0] and texts[0] in default_templates().banks["reply"]["neutral"]
        assert [(r.purpose, r.outcome) for r in seen.requests] == [("content", "empty")]


async def test_long_reasoning_does_not_push_the_answer_past_the_length_cut(
    server: FakeLLMServer,
) -> None:
    server.script = [f"<think>{SECRET * 50}</think>Short answer."]
    client = OpenAICompatibleClient(server.config(max_chars=100), api_key="sk-test")
    try:
        assert await client.complete("x") == "Short answer."
    finally:
        await client.close()


# -- the judge and the planner read the final answer only -------------------------------------


class Probe(BaseAction):
    action_name = "probe"
    action_description = "a probe"
    activation_type = ActionActivationType.LLM_JUDGE
    llm_judge_prompt = "Is the user sad?"


@pytest.mark.parametrize(
    ("answer", "verdict"),
    [
        ("<think>yes, no, maybe</think>不是", False),
        ("<think>it is not 不是, no</think>是", True),
        ("<think>yes</think>no", False),
        ("<think>no</think>yes", True),
        ("<THINKING>yes!</THINKING>No.", False),
        ("Let me think: yes.</think>no", False),  # the opening tag stripped by the server
        ("<think>yes", False),  # cut while thinking: no answer is no
    ],
)
async def test_the_judge_reads_the_final_answer(answer: str, verdict: bool) -> None:
    alone = await Probe(make_ctx("so sad")).go_activate(FakeLLM(answer))
    assert alone is verdict
    batched = answer.replace("</think>", "</think>probe: ").replace(
        "</THINKING>", "</THINKING>probe: "
    )
    report = await ActionModifier([Probe]).activate(make_ctx("so sad", llm=FakeLLM(batched)))
    assert report.activated == (["probe"] if verdict else [])


def test_a_bare_verdict_parser_never_sees_tags_as_yes() -> None:
    """The parser itself stays strict: a raw answer with its reasoning is not a clear yes."""
    assert parse_judge_answer("<think>no</think>yes") is False
    assert parse_judge_answer(final_answer("<think>no</think>yes")) is True


async def test_the_judge_through_the_real_client(server: FakeLLMServer) -> None:
    server.script = ["<think>probe: yes? it looks like yes</think>probe: no"]
    seen = RecordingObserver()
    client = server.client()
    try:
        ctx = make_ctx("so sad", llm=client, observer=seen)
        report = await ActionModifier([Probe]).activate(ctx)
    finally:
        await client.close()
    assert report.activated == []
    assert [(r.purpose, r.outcome) for r in seen.requests] == [("judge", "success")]


async def test_the_planner_reads_the_final_answer() -> None:
    ctx = make_ctx("hey", decision=decision("join_conversation"), addressed=True)
    report = await ActionModifier(BUILTIN_ACTIONS).activate(ctx)
    assert report.activated == ["join_conversation", "reply"]
    planner = LLMPlanner(FakeLLM("<think>maybe join_conversation</think>reply"))
    assert await planner.plan(ctx, report) == "reply"
