"""What a decision rule is, and how a table of them is run.

What belongs here: `Rule`, one entry of a rule table, holding everything about one rule (its
condition and explanation, the bound it gives the next wake time, its part in the hot path's
"may answer a message" short-cut, how it answers a message); and `RuleTable`, which derives from a
tuple of entries all the engine needs: the order (the tuple's), the first rule that fires and why
the others did not, the may-answer short-cut and the next wake time. Adding a rule is adding an
entry. What does not belong: the rules themselves (`engine.rules`), the gates and signals
(`engine.check`), storing events, clocks, I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .check import Check
from .config import RuleConfig
from .state import GuildState

Answers = Callable[[GuildState, float, float, RuleConfig, float], bool]
"""`(state, at, since_action_s, rules, started_at) -> bool`: see `Rule.answers`."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One entry of a rule table: a rule, written once. Its place in the table is its priority.

    Parameters
    ----------
    name:
        The action it fires (`Decision.action`); unique in its table.
    short:
        The short name that prefixes its notes in an explained `Decision.reason` ("join").
    fires:
        `(check) -> str | None`, its condition: a sentence with the values it used when it fires,
        else None after noting why not with `check.no(...)`. Dice only through `check.roll`: each
        draw is part of the engine's reproducible sequence, so a rule must draw the same dice
        whether or not the check is explained.
    wake:
        `(check) -> float | None`, seconds since the epoch: with no new events, the earliest time
        its conditions that time alone changes (cooldowns, quiet periods, the hour's count going
        down) could all hold. A time ≤ `check.at` means they hold now and something else (a roll,
        a gate) said no: the engine looks again after `RuleConfig.recheck_s`. None: waiting alone
        never makes it fire. Gates and quiet hours are the engine's business.
    answers:
        `(state, at, since_action_s, rules, started_at) -> bool`, its part in the hot path's
        short-cut: no dice, no mood. It must be True whenever the rule could fire, or roll a die,
        in a check triggered by a message, in any mood (take the traits' bounds over [0, 1]);
        otherwise `check()` would skip what `decide()` does, and the two would disagree. None: the
        rule never answers a message (it is skipped, with a note saying so).
    answer_as:
        `(action, why)`: in a check triggered by a message it fires as `action`, its reason
        prefixed with `why` (break_silence answers as join_conversation). None: as itself.
    target:
        `(state) -> (user_id, activity)`: whom a decision for this action is about, for
        `Decision.user_id` and `Decision.activity` (engage_user). None: nobody in particular.
    on_record:
        `(state) -> None`: what the bot taking this action changes in the guild's state, applied by
        `AutonomousEngine.record_action(guild, name)` (engage_user: that activity is engaged).

    Raises
    ------
    ValueError
        When a name is not a plain identifier, or a field that must be callable is not.
    """

    name: str
    short: str
    fires: Callable[[Check], str | None]
    wake: Callable[[Check], float | None] | None
    answers: Answers | None
    answer_as: tuple[str, str] | None = None
    target: Callable[[GuildState], tuple[int | None, str | None]] | None = None
    on_record: Callable[[GuildState], None] | None = None

    def __post_init__(self) -> None:
        for field in ("name", "short"):
            value = getattr(self, field)
            if not (isinstance(value, str) and value.isidentifier()):
                raise ValueError(f"Rule.{field} must be a plain identifier, got {value!r}")
        for field in ("fires", "wake", "answers", "target", "on_record"):
            value = getattr(self, field)
            if not (callable(value) or (value is None and field != "fires")):
                what = "callable" if field == "fires" else "callable or None"
                raise ValueError(f"rule {self.name!r}: {field} must be {what}, got {value!r}")
        answer = self.answer_as
        if answer is not None and not (
            isinstance(answer, tuple)
            and len(answer) == 2
            and all(isinstance(part, str) for part in answer)
            and answer[0].isidentifier()
        ):
            raise ValueError(
                f"rule {self.name!r}: answer_as must be (action, why), like "
                f"('join_conversation', 'someone spoke into a quiet chat'), got {answer!r}"
            )


TIMER_ONLY = "only on a timer, never in answer to a message"
"""The note of a rule that never answers a message (`answers=None`) in a message's check."""


class RuleTable:
    """A tuple of `Rule`s and what the engine derives from it, built once.

    Raises
    ------
    ValueError
        When an entry is not a `Rule`, or two rules have the same name.
    """

    __slots__ = ("answers", "by_name", "names", "rules", "wakes")

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules: tuple[Rule, ...] = tuple(rules)
        self.by_name: dict[str, Rule] = {}
        for i, rule in enumerate(self.rules):
            if not isinstance(rule, Rule):
                raise ValueError(f"rule table entry {i} must be an engine.Rule, got {rule!r}")
            if rule.name in self.by_name:
                raise ValueError(
                    f"rule table has two rules named {rule.name!r} (entries "
                    f"{self.rules.index(self.by_name[rule.name])} and {i}); names must be unique"
                )
            self.by_name[rule.name] = rule
        self.names: tuple[str, ...] = tuple(self.by_name)
        """The actions, in the order their rules are checked."""
        self.answers: tuple[Answers, ...] = tuple(
            rule.answers for rule in self.rules if rule.answers is not None
        )
        """The may-answer bounds, in table order: any True means "evaluate"."""
        self.wakes = tuple(rule.wake for rule in self.rules if rule.wake is not None)

    def first(self, chk: Check) -> tuple[str | None, str]:
        """The first rule that fires, in table order: `(action, reason)`.

        `(None, "")` when none does; why each did not is then in `chk.notes` (when explained).
        """
        by_message = chk.by_message
        for rule in self.rules:
            chk.short = rule.short
            if by_message and rule.answers is None:
                chk.no(TIMER_ONLY)
                continue
            reason = rule.fires(chk)
            if reason:
                if by_message and rule.answer_as is not None:
                    action, why = rule.answer_as
                    return action, f"{why}: {reason}"
                return rule.name, reason
        return None, ""

    def may_answer(
        self, st: GuildState, at: float, since: float, cfg: RuleConfig, started_at: float
    ) -> bool:
        """Whether any rule could fire in answer to a message now, whatever the mood (no dice).

        `AutonomousEngine.check` runs this same loop inline (the hot path).
        """
        return any(answers(st, at, since, cfg, started_at) for answers in self.answers)

    def next_wake(self, chk: Check, ready: float) -> float | None:
        """The earliest time after `chk.at` a rule could fire with no new events; None for never.

        `ready` is when the gates open (start-up, minimum interval). Past the rules' own bounds
        it wakes 1 ms after the edge (the rules compare with strict inequalities); a bound
        already passed means only dice or a gate said no: look again after `recheck_s`.
        """
        at = chk.at
        times = [t for wake in self.wakes if (t := wake(chk)) is not None]
        if not times:
            return None
        when = min(t + 1e-3 if t > at else at + chk.cfg.recheck_s for t in times)
        return max(when, ready)
