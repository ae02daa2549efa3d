"""The LLM judge: strict answer parsing, one batched call per round, a short-lived cache.

Actions ask through `BaseAction._llm_judge_activation()`. Inside an `ActionModifier` round the asks
of all actions are gathered into one `_JudgeRound` and sent as one prompt once every still-running
`go_activate()` is waiting on the judge (or a short window has passed). Outside a round an ask is a
single call whose bare answer is accepted. Logs show the judge's short answer, never the transcript.
Each call, and each verdict (asked or cached), is reported to the round's `ctx.observer`; an answer
that leaves some asked action without a readable yes or no is reported as "garbage".
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from actions.observer import BUDGET, ask_llm
from actions.prompting import PromptView

if TYPE_CHECKING:
    from actions.context import ActionContext
    from actions.llm import LLMClient

logger = logging.getLogger(__name__)

_DECORATION = " \t\r\n\"'`*_「」『』“”‘’()[]<>"
_YES = re.compile(
    r"(?:yes|true|是|是的)(?:\s*[,.;:!?，。；：！？、\n—-].*)?", re.IGNORECASE | re.DOTALL
)
_NO = re.compile(
    r"(?:no|not|false|不是|不|否|没有)(?:\s*[,.;:!?，。；：！？、\n—-].*)?",
    re.IGNORECASE | re.DOTALL,
)
_LINE = re.compile(r"^[\s>*\-•\d.)]*[`\"'*]*([A-Za-z0-9_.\-]+)[`\"'*]*\s*[:：=]\s*(.*)$")

JUDGE_SYSTEM = (
    "You decide which chat-bot actions fit the conversation right now. "
    "Answer with exactly one line per action, in the form `name: yes` or `name: no`, "
    "and nothing else."
)


def parse_judge_answer(answer: str | None) -> bool:
    """True only for a clear yes: "yes", "true", "是" (optionally followed by punctuation and a
    reason). "不是", "no", "否", "", garbage and "yes and no" are all no."""
    return read_judge_answer(answer) is True


def read_judge_answer(answer: str | None) -> bool | None:
    """True for a clear yes, False for a clear no ("no", "false", "不是", "否", ...), None for
    anything else (empty, garbage, "yes and no")."""
    text = (answer or "").strip(_DECORATION)
    if _YES.fullmatch(text):
        return True
    return False if _NO.fullmatch(text) else None


def read_batch_answer(answer: str, names: list[str]) -> dict[str, bool | None]:
    """Read ``name: yes|no`` lines: each name's verdict, None where it has no readable one. A
    single name also accepts a bare answer with no name on it."""
    wanted = {n.casefold(): n for n in names}
    verdicts: dict[str, bool | None] = {}
    for line in answer.splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        name = wanted.get(m.group(1).casefold())
        if name is not None and name not in verdicts:
            verdicts[name] = read_judge_answer(m.group(2))
    if len(names) == 1 and names[0] not in verdicts:
        verdicts[names[0]] = read_judge_answer(answer)
    return {n: verdicts.get(n) for n in names}


def parse_batch_answer(answer: str, names: list[str]) -> dict[str, bool]:
    """Read ``name: yes|no`` lines; a name without a clear yes is no. A single name also accepts a
    bare answer with no name on it."""
    return {n: v is True for n, v in read_batch_answer(answer, names).items()}


def grade_batch_answer(answer: str, names: list[str]) -> str:
    """The reported outcome of a judge answer: "success" when every name got a clear yes or no,
    "empty" for a blank answer, else "garbage" (the unread names count as no)."""
    if not answer.strip():
        return "empty"
    read = read_batch_answer(answer, names)
    return "success" if all(v is not None for v in read.values()) else "garbage"


@dataclass
class JudgeRequest:
    """One action's question to the judge."""

    action_name: str
    prompt: str
    description: str
    require: tuple[str, ...]
    future: asyncio.Future[bool] | None = None

    def key(self, ctx: ActionContext) -> tuple[object, ...]:
        # Messages are hashed in memory only; the cache never holds their text.
        return (
            self.action_name,
            self.prompt,
            self.description,
            self.require,
            ctx.guild_id,
            ctx.channel_id,
            hash(ctx.messages),
        )


def _short(answer: str) -> str:
    answer = " ".join(answer.split())
    return answer if len(answer) <= 40 else answer[:37] + "..."


def build_judge_prompt(ctx: ActionContext, requests: list[JudgeRequest]) -> str:
    """The user prompt for one judge call: the transcript, then each action to decide."""
    view = PromptView(ctx)  # as much of the chat as the guild lets a prompt carry
    if view.policy.transcript:
        lines = ["Recent chat (oldest first):", *(view.lines or ["(no messages)"])]
    else:
        lines = ["Recent chat: not shared by this server."]
    lines.append("")
    lines.append("Actions to decide:")
    for r in requests:
        lines.append(f"- {r.action_name}: {r.description}".rstrip(": "))
        if r.require:
            lines.append(f"  use when: {'; '.join(r.require)}")
        lines.append(f"  question: {' '.join(r.prompt.split())}")
    lines.append("")
    if len(requests) == 1:
        lines.append(f"Answer `{requests[0].action_name}: yes` or `{requests[0].action_name}: no`.")
    else:
        lines.append("Answer one line per action: `name: yes` or `name: no`.")
    return "\n".join(lines)


async def ask_judge(
    ctx: ActionContext, llm: LLMClient, requests: list[JudgeRequest]
) -> dict[str, bool]:
    """One judge call for `requests`; any LLM error reads as no for all of them.

    The request and its verdicts are reported to ``ctx.observer``."""
    names = [r.action_name for r in requests]
    reply = await ask_llm(
        llm, build_judge_prompt(ctx, requests), system=JUDGE_SYSTEM, purpose="judge",
        observer=ctx.observer, grade=lambda text: grade_batch_answer(text, names),
        budget=ctx.budget,
    )  # fmt: skip
    ctx.observer.judge_verdicts(llm=len(names))
    if reply.text is None:
        # a spent token budget is the operator's choice, not a failure
        log = logger.info if reply.outcome == BUDGET else logger.warning
        log("LLM judge failed for %s: %s; treating as no", names, reply.error)
        return dict.fromkeys(names, False)
    answer = reply.text
    verdicts = parse_batch_answer(answer, names)
    for n in names:
        logger.debug(
            "LLM judge for %r: answer=%r -> %s",
            n,
            _short(answer),
            "activate" if verdicts[n] else "no",
        )
    return verdicts


class JudgeCache:
    """Verdicts per (action, prompt, channel, transcript) for `ttl_s` seconds of context time."""

    def __init__(self, ttl_s: float = 30.0, max_entries: int = 1024) -> None:
        if ttl_s < 0:
            raise ValueError(f"ttl_s must be >= 0, got {ttl_s!r}.")
        if max_entries < 1:
            raise ValueError(f"max_entries must be >= 1, got {max_entries!r}.")
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._data: OrderedDict[tuple[object, ...], tuple[float, bool]] = OrderedDict()

    def get(self, key: tuple[object, ...], now: float) -> bool | None:
        hit = self._data.get(key)
        if hit is None:
            return None
        at, verdict = hit
        if now - at > self.ttl_s or now < at:
            del self._data[key]
            return None
        return verdict

    def put(self, key: tuple[object, ...], now: float, verdict: bool) -> None:
        self._data[key] = (now, verdict)
        self._data.move_to_end(key)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)


@dataclass
class JudgeStats:
    """Plain counters of the modifier's judge rounds (tests read them; the runtime exports what
    `ctx.observer` is told instead)."""

    calls: int = 0
    cache_hits: int = 0
    judged: int = 0


@dataclass
class _JudgeRound:
    """Gathers the judge asks of one modifier round into as few calls as possible."""

    ctx: ActionContext
    cache: JudgeCache
    stats: JudgeStats
    window_s: float
    running: int = 0
    pending: list[tuple[JudgeRequest, LLMClient]] = field(default_factory=list)
    calls: set[asyncio.Task[None]] = field(default_factory=set)
    _scheduled: asyncio.Handle | None = None
    _timer: asyncio.TimerHandle | None = None

    async def judge(self, request: JudgeRequest, llm: LLMClient) -> bool:
        key = request.key(self.ctx)
        cached = self.cache.get(key, self.ctx.now or 0.0)
        if cached is not None:
            self.stats.cache_hits += 1
            self.ctx.observer.judge_verdicts(cache=1)
            logger.debug(
                "LLM judge for %r: cached -> %s",
                request.action_name,
                "activate" if cached else "no",
            )
            return cached
        loop = asyncio.get_running_loop()
        request.future = loop.create_future()
        self.pending.append((request, llm))
        self._check()
        if self._timer is None and self.pending:
            self._timer = loop.call_later(self.window_s, self._flush)
        return await request.future

    def task_done(self) -> None:
        self.running -= 1
        self._check()

    def _check(self) -> None:
        waiting = sum(1 for r, _ in self.pending if r.future is not None and not r.future.done())
        if waiting and waiting >= self.running and self._scheduled is None:
            # call_soon, so asks made in the same loop iteration share the call.
            self._scheduled = asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch = [
            (r, llm) for r, llm in self.pending if r.future is not None and not r.future.done()
        ]
        self.pending.clear()
        groups: dict[int, tuple[LLMClient, list[JudgeRequest]]] = {}
        for r, llm in batch:
            groups.setdefault(id(llm), (llm, []))[1].append(r)
        for llm, reqs in groups.values():
            task = asyncio.get_running_loop().create_task(self._call(llm, reqs))
            self.calls.add(task)
            task.add_done_callback(self.calls.discard)

    async def _call(self, llm: LLMClient, reqs: list[JudgeRequest]) -> None:
        self.stats.calls += 1
        self.stats.judged += len(reqs)
        verdicts = await ask_judge(self.ctx, llm, reqs)
        for r in reqs:
            self.cache.put(r.key(self.ctx), self.ctx.now or 0.0, verdicts[r.action_name])
            if r.future is not None and not r.future.done():
                r.future.set_result(verdicts[r.action_name])

    def close(self) -> None:
        """Cancel what is left once no action waits any more."""
        for h in (self._scheduled, self._timer):
            if h is not None:
                h.cancel()
        for task in list(self.calls):
            task.cancel()
