"""Old-style actions (activation_type and friends) work unchanged; classes are checked early."""

from __future__ import annotations

import pytest

from actions import ActionActivationType, ActionModifier, BaseAction
from tests.actions.actions_testkit import FakeLLM, make_ctx


def legacy(kind: ActionActivationType, **attrs: object) -> type[BaseAction]:
    return type(
        f"Legacy{kind.name}",
        (BaseAction,),
        {"action_name": f"legacy_{kind.value}", "activation_type": kind, **attrs},
    )


async def test_always_and_never() -> None:
    ctx = make_ctx("x")
    assert await legacy(ActionActivationType.ALWAYS)(ctx).go_activate() is True
    assert await legacy(ActionActivationType.NEVER)(ctx).go_activate() is False


async def test_default_activation_type_is_always() -> None:
    class Plain(BaseAction):
        action_name = "plain"

    assert await Plain(make_ctx()).go_activate() is True


async def test_random_uses_probability_and_rng() -> None:
    cls = legacy(ActionActivationType.RANDOM, random_activation_probability=0.25)
    hits = [await cls(make_ctx(seed=s)).go_activate() for s in range(400)]
    assert 60 < sum(hits) < 140
    assert (
        await legacy(ActionActivationType.RANDOM, random_activation_probability=0.0)(
            make_ctx()
        ).go_activate()
        is False
    )


async def test_keyword() -> None:
    cls = legacy(ActionActivationType.KEYWORD, activation_keywords=["你好", "hello"])
    assert await cls(make_ctx("oh HELLO")).go_activate() is True
    assert await cls(make_ctx("goodbye")).go_activate() is False
    sensitive = legacy(
        ActionActivationType.KEYWORD, activation_keywords=["Hello"], keyword_case_sensitive=True
    )
    assert await sensitive(make_ctx("hello")).go_activate() is False
    assert await sensitive(make_ctx("Hello")).go_activate() is True


async def test_llm_judge_via_modifier_passes_ctx_llm() -> None:
    cls = legacy(ActionActivationType.LLM_JUDGE, llm_judge_prompt="Is someone sad?")
    llm = FakeLLM("legacy_llm_judge: yes")
    report = await ActionModifier([cls]).activate(make_ctx("so sad", llm=llm))
    assert report.activated == ["legacy_llm_judge"]
    assert "Is someone sad?" in llm.calls[0][0]
    report = await ActionModifier([cls]).activate(make_ctx("so sad", llm=FakeLLM("no")))
    assert report.inactive == {"legacy_llm_judge": "false"}


async def test_legacy_execute_default_reports_not_implemented() -> None:
    ok, why = await legacy(ActionActivationType.ALWAYS)(make_ctx()).execute()
    assert ok is False and "does not implement execute()" in why


def test_sync_go_activate_rejected_at_definition() -> None:
    with pytest.raises(TypeError, match=r"Bad'\.go_activate must be an 'async def' method"):

        class Bad(BaseAction):
            action_name = "bad"

            def go_activate(self, llm_judge_model=None):  # type: ignore[override]
                return True


def test_sync_execute_rejected_at_definition() -> None:
    with pytest.raises(TypeError, match=r"Bad'\.execute must be an 'async def' method"):

        class Bad(BaseAction):
            action_name = "bad"

            def execute(self):  # type: ignore[override]
                return True, ""


def test_wrong_attribute_types_rejected() -> None:
    with pytest.raises(TypeError, match=r"Bad'\.activation_type has the wrong type"):

        class Bad(BaseAction):
            activation_type = "keyword"  # type: ignore[assignment]

    with pytest.raises(ValueError, match=r"random_activation_probability must be in \[0, 1\]"):

        class Bad2(BaseAction):
            random_activation_probability = 2.0

    with pytest.raises(TypeError, match=r"Bad3'\.priority must be an int"):

        class Bad3(BaseAction):
            priority = "high"  # type: ignore[assignment]


def test_modifier_rejects_missing_and_duplicate_names() -> None:
    class NoName(BaseAction):
        pass

    class A(BaseAction):
        action_name = "same"

    class B(BaseAction):
        action_name = "same"

    with pytest.raises(ValueError, match="NoName' has no action_name"):
        ActionModifier([NoName])
    with pytest.raises(ValueError, match="reuses action_name 'same'"):
        ActionModifier([A, B])
    with pytest.raises(TypeError, match="is not a BaseAction subclass"):
        ActionModifier([object])  # type: ignore[list-item]
