"""Benchmark: activation rounds per second for 20 non-LLM actions in one context.

Compares `ActionModifier.activate()` (concurrent, with timeouts and a report) against calling
the same 20 `go_activate()` directly in a loop, in the same run, and prints medians and the ratio.

Run:  .venv/bin/python tests/bench/bench_actions.py [--rounds 2000] [--repeats 7]
      .venv/bin/python tests/bench/bench_actions.py --smoke   # tiny sizes: the suite runs it
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from actions import (
    ActionActivationType,
    ActionContext,
    ActionModifier,
    BaseAction,
    ChatMessage,
)

N_ACTIONS = 20


def make_actions() -> list[type[BaseAction]]:
    """20 actions: legacy keyword/random/always/never and new-style combined ones."""
    classes: list[type[BaseAction]] = []
    for i in range(N_ACTIONS):
        kind = i % 5
        name = f"bench_{i}"
        if kind == 0:
            attrs = {
                "activation_type": ActionActivationType.KEYWORD,
                "activation_keywords": (f"word{i}", "hello", "party"),
            }
        elif kind == 1:
            attrs = {
                "activation_type": ActionActivationType.RANDOM,
                "random_activation_probability": 0.3,
            }
        elif kind == 2:
            attrs = {
                "activation_type": ActionActivationType.ALWAYS
                if i % 2
                else ActionActivationType.NEVER
            }
        elif kind == 3:

            async def go_activate(self: BaseAction, llm_judge_model: object = None) -> bool:
                if await self._random_activation(0.2):
                    return True
                return await self._keyword_match(["emoji", "表情"])

            attrs = {"go_activate": go_activate}
        else:

            async def go_activate(self: BaseAction, llm_judge_model: object = None) -> bool:
                return await self._keyword_match(["Help", "urgent"], case_sensitive=True)

            attrs = {"go_activate": go_activate}
        classes.append(type(f"Bench{i}", (BaseAction,), {"action_name": name, **attrs}))
    return classes


def make_ctx() -> ActionContext:
    msgs = [
        ChatMessage(f"user{i % 4}", f"message number {i} about the party tonight", at=i)
        for i in range(20)
    ]
    return ActionContext(1, 2, "bubbly", messages=msgs, rng=random.Random(1), now=100.0)


async def run_modifier(modifier: ActionModifier, ctx: ActionContext, rounds: int) -> float:
    t0 = time.perf_counter()
    for _ in range(rounds):
        await modifier.activate(ctx)
    return time.perf_counter() - t0


async def run_direct(classes: list[type[BaseAction]], ctx: ActionContext, rounds: int) -> float:
    t0 = time.perf_counter()
    for _ in range(rounds):
        for cls in classes:
            await cls(ctx).go_activate(ctx.llm)
    return time.perf_counter() - t0


async def measure(rounds: int, repeats: int) -> dict[str, float]:
    classes = make_actions()
    modifier = ActionModifier(classes, timeout_s=2.0)
    ctx = make_ctx()
    report = await modifier.activate(ctx)
    assert len(report.outcomes) == N_ACTIONS and not report.inactive.keys() - {
        n for n, o in report.outcomes.items() if o == "inactive"
    }
    await run_modifier(modifier, ctx, rounds // 10)  # warm up
    await run_direct(classes, ctx, rounds // 10)
    mod_t, dir_t = [], []
    for _ in range(repeats):  # interleaved, so drift hits both alike
        mod_t.append(await run_modifier(modifier, ctx, rounds))
        dir_t.append(await run_direct(classes, ctx, rounds))
    m, d = statistics.median(mod_t), statistics.median(dir_t)
    per_round_mod, per_round_dir = m / rounds, d / rounds
    overhead_us = (per_round_mod - per_round_dir) / N_ACTIONS * 1e6
    print(
        f"command: .venv/bin/python tests/bench/bench_actions.py --rounds {rounds} "
        f"--repeats {repeats}"
    )
    print(
        f"python {platform.python_version()} on {platform.machine()}, "
        f"{N_ACTIONS} non-LLM actions, {rounds} rounds x {repeats} repeats (medians)"
    )
    print(
        f"ActionModifier.activate():  {rounds / m:10.0f} rounds/s  "
        f"({per_round_mod * 1e6:7.1f} us/round)"
    )
    print(
        f"direct go_activate() loop:  {rounds / d:10.0f} rounds/s  "
        f"({per_round_dir * 1e6:7.1f} us/round)"
    )
    print(
        f"modifier overhead per action: {overhead_us:.2f} us; ratio modifier/direct: {m / d:.2f}x"
    )
    return {
        "modifier_rounds_per_s": rounds / m, "direct_rounds_per_s": rounds / d,
        "overhead_us_per_action": overhead_us, "ratio": m / d,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the benchmark, print its figures and return them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: does it run at all")
    args = parser.parse_args(argv)
    if args.smoke:
        args.rounds, args.repeats = 50, 1
    return asyncio.run(measure(args.rounds, args.repeats))


if __name__ == "__main__":
    main()
