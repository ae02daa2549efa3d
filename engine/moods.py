"""Mood profiles: how a mood bends the rules.

The built-in profiles live in `moods.toml` beside this file (package data, read once at import).
Configuration may override a built-in mood or add new ones; every value is checked to be in [0, 1].
This module also picks the next mood when a guild's mood rotates.
"""

from __future__ import annotations

import math
import random
import tomllib
from collections.abc import Mapping
from importlib import resources

import msgspec

ASLEEP = "asleep"
"""The mood that never acts."""

TRAITS: tuple[str, ...] = ("energy", "sociability", "impulsiveness", "curiosity")


class MoodProfile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The personality of one mood; every trait is in [0, 1]."""

    energy: float
    sociability: float
    impulsiveness: float
    curiosity: float = 0.5

    def __post_init__(self) -> None:
        for trait in TRAITS:
            value = getattr(self, trait)
            if not (isinstance(value, int | float) and math.isfinite(value) and 0 <= value <= 1):
                raise ValueError(f"mood trait {trait!r} must be a number in [0, 1], got {value!r}")


def _load_builtin() -> dict[str, MoodProfile]:
    text = resources.files(__package__).joinpath("moods.toml").read_text(encoding="utf-8")
    return parse_moods(tomllib.loads(text), where="engine/moods.toml")


def parse_moods(table: Mapping[str, object], *, where: str = "moods") -> dict[str, MoodProfile]:
    """Turn a `{name: {trait: value}}` table into profiles, with errors naming the key."""
    moods: dict[str, MoodProfile] = {}
    for name, traits in table.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"{where}: mood name {name!r} must be a plain identifier")
        try:
            moods[name] = msgspec.convert(traits, MoodProfile)
        except (msgspec.ValidationError, ValueError) as e:
            raise ValueError(f"{where}.{name}: {e}") from None
    return moods


BUILTIN_MOODS: Mapping[str, MoodProfile] = _load_builtin()


class MoodBook:
    """The moods a deployment knows: the built-ins, overridden and extended by configuration."""

    __slots__ = ("_profiles",)

    def __init__(self, overrides: Mapping[str, MoodProfile] | None = None) -> None:
        self._profiles: dict[str, MoodProfile] = dict(BUILTIN_MOODS)
        self._profiles.update(overrides or {})

    def __contains__(self, name: object) -> bool:
        return name in self._profiles

    def names(self) -> tuple[str, ...]:
        return tuple(self._profiles)

    def profile(self, name: str) -> MoodProfile:
        """The profile of `name`; ValueError naming the known moods if there is none."""
        try:
            return self._profiles[name]
        except KeyError:
            known = ", ".join(sorted(self._profiles))
            raise ValueError(f"unknown mood {name!r}; known moods: {known}") from None

    def check(self, name: str) -> str:
        self.profile(name)
        return name

    def next_mood(self, current: str, rng: random.Random, *, include_asleep: bool = False) -> str:
        """A different mood, chosen at random (the hourly rotation). `asleep` only if asked."""
        choices = [m for m in self._profiles if m != current and (include_asleep or m != ASLEEP)]
        return rng.choice(choices) if choices else current
