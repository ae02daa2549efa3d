"""One guild's signals: a few counters and times, and a fixed-size per-minute message window.

Memory per guild is O(1) whatever the traffic: the window is 60 per-minute counters (two bytes
each) that exist only while the guild had messages in the last hour; the set of members seen
online is capped. No message content is ever kept. `GuildSnapshot` is the persisted form.

Personal data is kept only while a rule needs it: the members seen online (user ids) for the
presence window (`RuleConfig.online_ttl_s`), who started which activity for the engage window
(`RuleConfig.engage_activity_window_s`, and only until the bot engaged it). `personal_until()`
says when the next of them runs out and `expire_personal()` drops what has, from memory and
(being absent from the next snapshot) from the store; `forget_user()` drops one member's. The
members who answered the bot (`affinity`: user id → how often, when last) are kept at most
`LearningConfig.affinity_ttl_s` after their last answer, and at most `affinity_max_members` of
them (the least recent go first).

What the engine learns (`engine.learning`) lives here too: the week's rhythm (168 two-byte
slots of decayed human-message counts, 336 bytes, made at the guild's first message), the
chattiness and what last moved it, the bot's last remark waiting for an answer.
"""

from __future__ import annotations

import sys
from array import array

import msgspec

from .config import DEFAULT_SETTINGS, GuildSettings

NEVER = float("-inf")
WINDOW_MINUTES = 60
SHORT_MINUTES = 5
MAX_PER_MINUTE = 0xFFFF
MAX_PRESENT = 8  # members remembered as online; enough to know the room is not empty
SNAPSHOT_VERSION = 4  # 2: left_at; personal data expires. 3: the LLM token ledger (older load)
# 4: rhythm, chattiness, affinity
RHYTHM_SLOTS = 168  # hours of a week
RHYTHM_UNIT = 64  # a message in a rhythm slot (1/64ths: the daily decay keeps some precision)


def _ring_sum(buckets: array, first: int, last: int) -> int:
    """The messages of minutes `first`..`last` (at most an hour of them; none if first > last),
    as one or two slices of the ring summed in C (a generator over the minutes costs 3× more)."""
    if first > last:
        return 0
    i, j = first % WINDOW_MINUTES, last % WINDOW_MINUTES
    return sum(buckets[i : j + 1]) if i <= j else sum(buckets[i:]) + sum(buckets[: j + 1])


class GuildState(msgspec.Struct, gc=False, kw_only=True):
    """The live, mutable signals of one guild (not a message in sight)."""

    mood: str
    settings: GuildSettings = DEFAULT_SETTINGS
    minute: int = 0  # epoch minute of the newest bucket
    buckets: array | None = None  # messages per minute, ring indexed by minute % 60
    hour_total: int = 0  # the sum of `buckets` (derived, kept so a count costs no sum)
    last_human_at: float = NEVER
    prev_human_at: float = NEVER  # the human message before the last one
    last_channel: int = 0  # where the last counted message was posted (where talk happens)
    messages_since_appearance: int = 0
    last_action_at: float = NEVER
    last_action: str | None = None
    unanswered: int = 0  # the bot's actions since the last human message (one clears it)
    activity_user: int | None = None
    activity_name: str | None = None
    activity_at: float = NEVER
    activity_engaged: bool = False
    present: dict[int, float] | None = None  # user id → when last seen online (capped)
    last_join_at: float = NEVER
    joins: int = 0
    left_at: float = NEVER  # when the bot was removed from the guild (NEVER: it is there)
    # the LLM tokens this guild used on UTC day `llm_day` (days since the epoch), requests in
    # flight counted at their reservation (`actions.budget`); a plain counter, no content
    llm_day: int = 0
    llm_tokens: int = 0
    # learned (engine.learning): the week's rhythm in the guild's zone …
    rhythm: array | None = None  # RHYTHM_SLOTS counts in 1/RHYTHM_UNIT messages, decayed
    rhythm_total: float = 0.0  # messages the profile holds, decayed alike (how far to trust it)
    rhythm_hour: int = -1  # epoch hour whose slot is `rhythm_slot` (-1: none yet)
    rhythm_slot: int = 0
    rhythm_n: int = 0  # messages in that hour so far (added to its slot when it ends)
    rhythm_day: int = 0  # epoch day of the last decay
    # … its chattiness (1.0 at `chattiness_at`, returning to 1 from there), what moved it …
    chattiness: float = 1.0
    chattiness_at: float = 0.0
    chattiness_why: str | None = None
    feedback: tuple[int, int, int, int] = (0, 0, 0, 0)  # learning.FEEDBACK counts
    remark_at: float = NEVER  # the bot's last own remark, while it waits for an answer
    remark_answered: bool = False
    remark_heard: int = 0  # members credited with answering it (affinity)
    # … and who answered the bot: user id → (answers, when last), oldest first (capped)
    affinity: dict[int, tuple[int, float]] | None = None

    def add_message(self, at: float, author_id: int | None, channel_id: int | None) -> bool:
        """Count one human message at time `at` (the hot path: kept in one flat method).

        It answers the bot: the count of its remarks in a row that went unanswered starts over.
        Returns True when it falls in a later hour than the rhythm profile's current one: the
        caller rolls the profile (`learning.roll_rhythm`) and counts it then; else it is
        counted here, in `rhythm_n`.
        """
        if at >= self.last_human_at:
            self.prev_human_at = self.last_human_at
            self.last_human_at = at
            if channel_id is not None:
                self.last_channel = channel_id
        self.messages_since_appearance += 1
        self.unanswered = 0
        minute = int(at) // 60
        if self.buckets is None:
            self.buckets = array("H", bytes(2 * WINDOW_MINUTES))
            self.minute = minute
        elif minute > self.minute:
            self._advance(minute)
        if minute > self.minute - WINDOW_MINUTES:  # else older than the window: not counted
            buckets = self.buckets
            i = minute % WINDOW_MINUTES
            if buckets[i] < MAX_PER_MINUTE:
                buckets[i] += 1
                self.hour_total += 1
        if author_id is not None:
            present = self.present
            if present is None:
                self.present = {author_id: at}
            else:
                present[author_id] = at  # cheaper than moving the key: eviction is roughly LRU
                if len(present) > MAX_PRESENT:
                    del present[next(iter(present))]
        if minute // 60 > self.rhythm_hour:
            return True
        self.rhythm_n += 1  # into the profile when the hour is over (`learning.roll_rhythm`)
        return False

    def _advance(self, minute: int) -> None:
        if minute - self.minute >= WINDOW_MINUTES:
            self.buckets = array("H", bytes(2 * WINDOW_MINUTES))
            self.hour_total = 0
        else:
            buckets = self.buckets
            assert buckets is not None
            for m in range(self.minute + 1, minute + 1):
                i = m % WINDOW_MINUTES
                self.hour_total -= buckets[i]
                buckets[i] = 0
        self.minute = minute

    def messages_in(self, minutes: int, at: float) -> int:
        """Messages in the `minutes` newest minute-buckets up to time `at` (current minute too)."""
        buckets = self.buckets
        if buckets is None:
            return 0
        now = int(at) // 60
        newest = min(now, self.minute)
        oldest = max(now - minutes + 1, self.minute - WINDOW_MINUTES + 1)
        if oldest > newest:
            return 0
        first = self.minute - WINDOW_MINUTES + 1
        if newest == self.minute and oldest - first < newest - oldest:
            # most of the window: the running total less the few minutes that fell out
            return self.hour_total - _ring_sum(buckets, first, oldest - 1)
        return _ring_sum(buckets, oldest, newest)

    def expire(self, at: float) -> None:
        """Give the window's memory back when its hour has passed (an idle guild)."""
        if self.buckets is not None and int(at) // 60 - self.minute >= WINDOW_MINUTES:
            self.buckets = None
            self.hour_total = 0

    def hour_count_below_at(self, limit: int, at: float) -> float:
        """The earliest time ≥ `at` when the hour window holds fewer than `limit` messages."""
        count = self.messages_in(WINDOW_MINUTES, at)
        if count < limit:
            return at
        now = int(at) // 60
        buckets = self.buckets
        assert buckets is not None
        # minutes leave the window oldest first; find when enough of them have left
        for m in range(now - WINDOW_MINUTES + 1, self.minute + 1):
            count -= buckets[m % WINDOW_MINUTES]
            if count < limit:
                return float((m + WINDOW_MINUTES) * 60)
        return float((self.minute + WINDOW_MINUTES) * 60)

    def see_present(self, user_id: int, at: float) -> None:
        present = self.present
        if present is None:
            present = self.present = {}
        else:
            present.pop(user_id, None)
        present[user_id] = at
        if len(present) > MAX_PRESENT:
            del present[next(iter(present))]  # forget the longest-unseen member

    def see_absent(self, user_id: int) -> None:
        if self.present is not None:
            self.present.pop(user_id, None)
            if not self.present:
                self.present = None

    def someone_present(self, at: float, ttl_s: float) -> bool:
        present = self.present
        return present is not None and any(at - seen < ttl_s for seen in present.values())

    def presence_expires_at(self, ttl_s: float) -> float:
        """When the last member seen online stops counting as present."""
        return max(self.present.values(), default=NEVER) + ttl_s if self.present else NEVER

    # personal data --------------------------------------------------------------------------
    def personal_until(self, ttl_s: float, window_s: float, affinity_s: float = NEVER) -> float:
        """When the next piece of personal data held here stops being needed (NEVER: none held):
        a member seen online `ttl_s` after they were seen, an activity `window_s` after it
        started (1 ms past the edge: `engage_user` still fires at exactly `window_s`), a member's
        affinity `affinity_s` after their last answer."""
        when = min(self.present.values()) + ttl_s if self.present else NEVER
        if self.activity_user is not None or self.activity_name is not None:
            until = self.activity_at + window_s + 1e-3
            when = until if when == NEVER else min(when, until)
        if self.affinity:  # ordered by last answer: the first is the oldest
            until = next(iter(self.affinity.values()))[1] + affinity_s
            when = until if when == NEVER else min(when, until)
        return when

    def expire_personal(
        self, at: float, ttl_s: float, window_s: float, affinity_s: float = NEVER
    ) -> bool:
        """Drop the personal data no rule needs at `at` any more; True when something went."""
        changed = False
        aff = self.affinity
        if aff:
            for uid, (_, last) in list(aff.items()):
                if at - last < affinity_s:
                    break
                del aff[uid]
                changed = True
            if not aff:
                self.affinity = None
        present = self.present
        if present is not None:
            gone = [uid for uid, seen in present.items() if at - seen >= ttl_s]
            if gone:
                for uid in gone:
                    del present[uid]
                if not present:
                    self.present = None
                changed = True
        if (self.activity_user is not None or self.activity_name is not None) and (
            at - self.activity_at > window_s
        ):
            self.activity_user = self.activity_name = None
            changed = True
        return changed

    def forget_user(self, user_id: int) -> bool:
        """Drop everything held about one member (erasure); True when something was held."""
        changed = False
        if self.present is not None and user_id in self.present:
            self.see_absent(user_id)
            changed = True
        if self.activity_user == user_id:
            self.activity_user = self.activity_name = None
            changed = True
        if self.affinity is not None and user_id in self.affinity:
            del self.affinity[user_id]
            if not self.affinity:
                self.affinity = None
            changed = True
        return changed

    def forget_people(self) -> None:
        """Drop every member's data (the bot left: no rule runs here any more)."""
        self.present = None
        self.affinity = None
        self.activity_user = self.activity_name = None


class GuildSnapshot(msgspec.Struct, kw_only=True, tag="guild", tag_field="kind"):
    """The persisted form of `GuildState`, versioned. New fields must get defaults.

    It holds what a decision needs after a restart and no more: counters, times, mood, settings;
    user ids and an activity's name only while a rule needs them (see the module docstring).
    """

    version: int = SNAPSHOT_VERSION
    mood: str
    settings: GuildSettings = DEFAULT_SETTINGS
    minute: int = 0
    buckets: list[int] | None = None
    last_human_at: float = NEVER
    prev_human_at: float = NEVER
    last_channel: int = 0
    messages_since_appearance: int = 0
    last_action_at: float = NEVER
    last_action: str | None = None
    unanswered: int = 0  # the bot's actions since the last human message (one clears it)
    activity_user: int | None = None
    activity_name: str | None = None
    activity_at: float = NEVER
    activity_engaged: bool = False
    present: dict[int, float] | None = None
    last_join_at: float = NEVER
    joins: int = 0
    left_at: float = NEVER  # version 2
    llm_day: int = 0  # version 3
    llm_tokens: int = 0  # version 3
    rhythm: bytes | None = None  # version 4: RHYTHM_SLOTS little-endian uint16
    rhythm_total: float = 0.0
    rhythm_hour: int = -1
    rhythm_slot: int = 0
    rhythm_n: int = 0
    rhythm_day: int = 0
    chattiness: float = 1.0
    chattiness_at: float = 0.0
    chattiness_why: str | None = None
    feedback: tuple[int, int, int, int] = (0, 0, 0, 0)
    remark_at: float = NEVER
    remark_answered: bool = False
    remark_heard: int = 0
    affinity: list[tuple[int, int, float]] | None = None  # (user id, answers, last), oldest first


_DERIVED = ("hour_total",)  # rebuilt on restore
_FIELDS = tuple(f for f in GuildState.__struct_fields__ if f not in _DERIVED)
_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(GuildSnapshot)


def snapshot(state: GuildState) -> bytes:
    """The guild's whole state as msgpack bytes (format version included)."""
    values = {f: getattr(state, f) for f in _FIELDS}
    if state.buckets is not None:
        values["buckets"] = state.buckets.tolist()
    if state.present is not None:
        values["present"] = dict(state.present)
    if state.rhythm is not None:
        rhythm = state.rhythm
        if sys.byteorder != "little":
            rhythm = array("H", rhythm)
            rhythm.byteswap()
        values["rhythm"] = rhythm.tobytes()
    if state.affinity is not None:
        values["affinity"] = [(uid, n, last) for uid, (n, last) in state.affinity.items()]
    return _encoder.encode(GuildSnapshot(**values))


def restore(data: bytes) -> GuildState:
    """The `GuildState` a `snapshot()` wrote; ValueError on a foreign or newer format."""
    try:
        snap = _decoder.decode(data)
    except msgspec.DecodeError as e:
        raise ValueError(f"guild snapshot is not readable: {e}") from None
    if snap.version > SNAPSHOT_VERSION:
        raise ValueError(
            f"guild snapshot has format version {snap.version}; this build reads up to "
            f"{SNAPSHOT_VERSION}: upgrade guildmind before loading this state"
        )
    values = {f: getattr(snap, f) for f in _FIELDS}
    if snap.messages_since_appearance and snap.unanswered:
        # written before a human message cleared the count: a human has answered since
        values["unanswered"] = 0
    if snap.buckets is not None:
        if len(snap.buckets) != WINDOW_MINUTES:
            raise ValueError(f"guild snapshot window has {len(snap.buckets)} buckets, not 60")
        values["buckets"] = array("H", snap.buckets)
        values["hour_total"] = sum(snap.buckets)
    if snap.rhythm is not None:
        if len(snap.rhythm) != 2 * RHYTHM_SLOTS:
            raise ValueError(
                f"guild snapshot rhythm has {len(snap.rhythm)} bytes, not {2 * RHYTHM_SLOTS}"
            )
        rhythm = array("H", snap.rhythm)
        if sys.byteorder != "little":
            rhythm.byteswap()
        values["rhythm"] = rhythm
    if snap.affinity is not None:
        values["affinity"] = {uid: (n, last) for uid, n, last in snap.affinity} or None
    return GuildState(**values)
