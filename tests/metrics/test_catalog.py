"""The metric catalogue: naming lint, bounded labels, pre-initialisation and each recording call."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from prometheus_client import CollectorRegistry, generate_latest

import metrics
from metrics import GuildmindMetrics, metric_names, new_registry
from metrics.labels import DEFAULT_ACTIONS, DEFAULT_MOODS, OTHER, label_set

NAME = re.compile(r"^guildmind_[a-z_]+$")
FORBIDDEN_LABEL = re.compile(r"(_id|^id|^guild|^channel|^user|^message|^content|^text)$|_ids?$")


@pytest.fixture
def m() -> GuildmindMetrics:
    return GuildmindMetrics(CollectorRegistry(), hosts=["host-0"], version="1.2.3")


def value(m: GuildmindMetrics, name: str, **labels: str) -> float | None:
    return m.registry.get_sample_value(name, labels)


def families(m: GuildmindMetrics):
    return [f for f in m.registry.collect() if f.name.startswith("guildmind_")]


def test_every_name_follows_the_conventions(m: GuildmindMetrics) -> None:
    m.set_guild_source(lambda: {"bubbly": 1})
    fams = families(m)
    assert len(fams) >= 22
    for fam in fams:
        name = fam.name + ("_total" if fam.type == "counter" else "")
        assert NAME.match(name), name
        if fam.type == "histogram":
            assert name.endswith(("_seconds", "_events")), f"{name}: a histogram needs a unit"
        if fam.type == "gauge" and name.endswith("_info"):
            assert fam.samples and all(s.value == 1 for s in fam.samples)
        assert not re.search(r"_(ms|millis|milliseconds|minutes|hours)(_|$)", name), name
        for sample in fam.samples:
            if fam.type == "counter" and not sample.name.endswith("_created"):
                assert sample.name.endswith("_total"), sample.name
            for label in sample.labels:
                assert not FORBIDDEN_LABEL.search(label), f"{sample.name}: label {label!r}"
        assert fam.documentation, f"{name} has no help text"


def test_label_values_are_bounded(m: GuildmindMetrics) -> None:
    for i in range(50):  # a stream of made-up values must not grow the series
        m.events(f"type{i}")
        m.dropped(f"type{i}", f"reason{i}")
        m.decision(f"act{i}", f"mood{i}", f"trig{i}")
        m.round(f"o{i}")
        m.activation(f"act{i}", f"r{i}", 0.1)
        m.llm_request(f"p{i}", f"o{i}", 1.0, retries=1, prompt_tokens=3, completion_tokens=2)
        m.action_execution(f"act{i}", f"o{i}")
        m.message_sent(f"act{i}")
        m.send_failure(f"why{i}")
    before = len(generate_latest(m.registry).splitlines())
    for i in range(50, 60):
        m.decision(f"act{i}", f"mood{i}", f"trig{i}")
        m.events(f"type{i}")
    assert len(generate_latest(m.registry).splitlines()) == before
    assert value(m, "guildmind_events_total", type=OTHER) == 60
    assert value(m, "guildmind_decisions_total", action=OTHER, mood=OTHER, trigger=OTHER) == 60
    assert value(m, "guildmind_activations_total", action=OTHER, result="error") == 50
    assert value(m, "guildmind_action_executions_total", action=OTHER, outcome="error") == 50
    assert value(m, "guildmind_llm_requests_total", purpose=OTHER, outcome=OTHER) == 50
    assert (
        value(m, "guildmind_llm_tokens_total", purpose=OTHER, kind="prompt", source="server") == 150
    )


def test_known_label_values_start_at_zero(m: GuildmindMetrics) -> None:
    assert value(m, "guildmind_events_total", type="presence") == 0
    assert value(m, "guildmind_events_dropped_total", type="presence", reason="overload") == 0
    for action in DEFAULT_ACTIONS:
        for mood in DEFAULT_MOODS:
            got = value(m, "guildmind_decisions_total", action=action, mood=mood, trigger="timer")
            assert got == 0
    assert value(m, "guildmind_decisions_total", action="none", mood="shy", trigger="message") == 0
    assert value(m, "guildmind_activations_total", action="reply", result="timeout") == 0
    assert value(m, "guildmind_llm_requests_total", purpose="judge", outcome="error") == 0
    assert value(m, "guildmind_llm_requests_total", purpose="plan", outcome="garbage") == 0
    assert value(m, "guildmind_llm_retries_total", purpose="content") == 0
    for kind in ("prompt", "completion"):
        for source in ("server", "estimate"):
            got = value(m, "guildmind_llm_tokens_total", purpose="judge", kind=kind, source=source)
            assert got == 0
    assert value(m, "guildmind_action_executions_total", action="reply", outcome="fallback") == 0
    assert value(m, "guildmind_state_saves_total", outcome="failure") == 0
    assert value(m, "guildmind_host_restarts_total", host="host-0") == 0
    assert value(m, "guildmind_build_info", version="1.2.3") == 1


def test_recording_calls(m: GuildmindMetrics) -> None:
    m.events("message", 120)
    m.dropped("presence", "overload", 7)
    m.decision("join_conversation", "bubbly", "message", decide_s=3e-6, latency_s=0.02)
    m.decision(None, "shy", "timer")
    m.round("sent", seconds=0.8)
    m.activations(
        SimpleNamespace(
            outcomes={"reply": "activated", "share_tweet": "timeout"},
            durations_s={"reply": 0.001, "share_tweet": 2.0},
        )
    )
    m.judge_verdicts(llm=2, cache=3)
    m.llm_request("content", "success", 1.5, retries=2, prompt_tokens=120, completion_tokens=9)
    m.llm_request("judge", "garbage", 0.5, prompt_tokens=80, completion_tokens=4,
                  tokens_estimated=True)  # fmt: skip
    m.action_execution("reply", "fallback")
    m.message_sent("reply")
    m.send_failure("rate_limited")
    m.batch_sent(40)
    m.batch_sent(2)
    m.batch_done()
    m.flush_result(SimpleNamespace(saved=10, failed=2, seconds=0.01))
    m.host_restart("host-1")
    m.partitions_moved(341)
    assert value(m, "guildmind_events_total", type="message") == 120
    assert value(m, "guildmind_events_dropped_total", type="presence", reason="overload") == 7
    assert (
        value(m, "guildmind_decisions_total", action="join_conversation", mood="bubbly",
              trigger="message") == 1
    )  # fmt: skip
    assert value(m, "guildmind_decisions_total", action="none", mood="shy", trigger="timer") == 1
    assert value(m, "guildmind_decide_seconds_count") == 1
    assert value(m, "guildmind_decide_seconds_bucket", le="5e-06") == 1
    assert value(m, "guildmind_event_to_decision_seconds_sum") == pytest.approx(0.02)
    assert value(m, "guildmind_rounds_total", outcome="sent") == 1
    assert value(m, "guildmind_round_seconds_count") == 1
    assert value(m, "guildmind_activations_total", action="share_tweet", result="timeout") == 1
    assert value(m, "guildmind_activation_seconds_sum", action="share_tweet") == 2.0
    assert value(m, "guildmind_judge_verdicts_total", source="cache") == 3
    assert value(m, "guildmind_llm_requests_total", purpose="content", outcome="success") == 1
    assert value(m, "guildmind_llm_request_seconds_count", purpose="content") == 1
    assert value(m, "guildmind_llm_requests_total", purpose="judge", outcome="garbage") == 1
    assert value(m, "guildmind_llm_retries_total", purpose="content") == 2
    tokens = {
        (kind, source): value(m, "guildmind_llm_tokens_total", purpose=p, kind=kind, source=source)
        for p, kind, source in [
            ("content", "prompt", "server"), ("content", "completion", "server"),
            ("judge", "prompt", "estimate"), ("judge", "completion", "estimate"),
        ]
    }  # fmt: skip
    assert tokens == {
        ("prompt", "server"): 120, ("completion", "server"): 9,
        ("prompt", "estimate"): 80, ("completion", "estimate"): 4,
    }  # fmt: skip
    assert value(m, "guildmind_action_executions_total", action="reply", outcome="fallback") == 1
    assert value(m, "guildmind_messages_sent_total", action="reply") == 1
    assert value(m, "guildmind_send_failures_total", reason="rate_limited") == 1
    assert value(m, "guildmind_batch_size_events_sum") == 42
    assert value(m, "guildmind_batches_in_flight") == 1
    assert value(m, "guildmind_state_saves_total", outcome="success") == 10
    assert value(m, "guildmind_state_saves_total", outcome="failure") == 2
    assert value(m, "guildmind_state_save_seconds_count") == 1
    assert value(m, "guildmind_host_restarts_total", host="host-1") == 1
    assert value(m, "guildmind_partitions_moved_total") == 341


def test_guild_gauges_are_read_at_scrape_time(m: GuildmindMetrics) -> None:
    assert value(m, "guildmind_guilds_loaded") is None  # no source: not a guild host
    moods = {"bubbly": 3}
    m.set_guild_source(lambda: dict(moods))
    assert value(m, "guildmind_guilds_loaded") == 3
    moods.update(shy=2, made_up=4)
    assert value(m, "guildmind_guilds_loaded") == 9
    assert value(m, "guildmind_guilds_by_mood", mood="shy") == 2
    assert value(m, "guildmind_guilds_by_mood", mood="serious") == 0
    assert value(m, "guildmind_guilds_by_mood", mood=OTHER) == 4


def test_a_failing_guild_source_does_not_break_the_scrape(
    m: GuildmindMetrics, caplog: pytest.LogCaptureFixture
) -> None:
    m.set_guild_source(lambda: 1 / 0)
    text = generate_latest(m.registry).decode()
    assert "guildmind_events_total" in text and "guildmind_guilds_loaded" not in text
    assert "guild mood source failed" in caplog.text


def test_configured_actions_and_moods() -> None:
    m = GuildmindMetrics(CollectorRegistry(), actions=["hello"], moods=["calm"])
    m.decision("hello", "calm", "timer")
    assert value(m, "guildmind_decisions_total", action="hello", mood="calm", trigger="timer") == 1
    assert value(m, "guildmind_activations_total", action="reply", result="activated") is None
    with pytest.raises(ValueError, match="non-empty string"):
        label_set(["ok", ""])


def test_defaults_match_the_engine() -> None:
    import engine

    assert set(DEFAULT_ACTIONS) == {*engine.ACTIONS, "reply"}
    assert set(DEFAULT_MOODS) == set(engine.BUILTIN_MOODS)


def test_new_registry_has_process_metrics() -> None:
    names = metric_names(new_registry())
    assert "process_resident_memory_bytes" in names and "python_info" in names
    assert metric_names(new_registry(process_metrics=False)) == set()


def test_exports() -> None:
    public = {n for n in vars(metrics) if not n.startswith("_") and n != "annotations"}
    modules = {n for n, v in vars(metrics).items() if type(v).__name__ == "module"}
    assert set(metrics.__all__) == public - modules
