"""A stand-in runtime process for the metrics end-to-end test: records through the catalogue.

Run as ``python tests/metrics/loadgen.py host|gateway``: serves ``/metrics`` on 127.0.0.1 (any
free port), prints the port on one line, records what a guild host or a gateway would (decisions,
rounds, activations, LLM calls, saves; or events, drops, batches, sends) every few milliseconds,
and exits when its stdin closes.
"""

from __future__ import annotations

import random
import sys
import threading

from metrics import GuildmindMetrics, new_registry, start_metrics_server
from metrics.labels import DEFAULT_ACTIONS, DEFAULT_MOODS


def host_step(m: GuildmindMetrics, rng: random.Random) -> None:
    mood = rng.choice(DEFAULT_MOODS)
    action = rng.choice([None, None, None, *DEFAULT_ACTIONS])
    m.decision(action, mood, rng.choice(["message", "timer"]), decide_s=rng.uniform(1e-6, 2e-5),
               latency_s=rng.uniform(0.001, 0.05))  # fmt: skip
    if action is None:
        return
    for name in DEFAULT_ACTIONS:
        m.activation(name, rng.choice(["activated", "inactive", "inactive", "timeout"]), 0.01)
    m.judge_verdicts(llm=1, cache=2)
    m.llm_request("judge", "success", rng.uniform(0.1, 1.0), prompt_tokens=300, completion_tokens=5)
    ok = rng.random() < 0.8
    if ok:
        m.llm_request("content", "success", rng.uniform(0.2, 3.0), prompt_tokens=400,
                      completion_tokens=30, tokens_estimated=rng.random() < 0.5)  # fmt: skip
    else:
        m.llm_request("content", "timeout", rng.uniform(2.0, 3.0), retries=2)
    m.action_execution(action, "sent" if ok else "fallback")
    m.round("sent", seconds=rng.uniform(0.05, 2.0))
    m.state_saves(saved=rng.randint(1, 20), failed=int(rng.random() < 0.05), seconds=0.002)


def gateway_step(m: GuildmindMetrics, rng: random.Random) -> None:
    n = rng.randint(20, 200)
    m.events("message", n)
    m.events("presence", n // 2)
    if rng.random() < 0.1:
        m.dropped("presence", "overload", rng.randint(1, 10))
    m.batch_sent(n)
    m.batch_done()
    m.message_sent(rng.choice(DEFAULT_ACTIONS))
    if rng.random() < 0.05:
        m.send_failure("rate_limited")


def main() -> None:
    role = sys.argv[1]
    step = {"host": host_step, "gateway": gateway_step}[role]
    m = GuildmindMetrics(new_registry(), version="test")
    if role == "host":
        moods = {mood: 10 + i for i, mood in enumerate(DEFAULT_MOODS)}
        m.set_guild_source(lambda: dict(moods))
    rng = random.Random(7)
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    with start_metrics_server(m.registry) as server:
        print(server.port, flush=True)
        while not done.wait(0.005):
            step(m, rng)


if __name__ == "__main__":
    main()
