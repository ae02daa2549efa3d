"""Each rule just below and just above each of its thresholds (DESIGN §3 defaults)."""

from __future__ import annotations

import pytest

from engine import (
    FIXED,
    AutonomousEngine,
    Decision,
    GuildSettings,
    MemberJoinEvent,
    MessageEvent,
    MoodBook,
    MoodProfile,
    PresenceEvent,
    RuleConfig,
)

from .conftest import T0, FixedRoll, G, make_engine, talk

NOW = T0 + 3 * 3600  # well past start-up, minute-aligned


def busy(engine: AutonomousEngine, n: int, *, mood: str = "bubbly") -> float:
    """`n` messages in the current minute, ending at NOW + 59 s."""
    engine.update_mood(G, mood, at=NOW)
    return talk(engine, n, start=NOW + 59 - (n - 1) * 0.5, every=0.5)


class TestJoinConversation:
    # bubbly: momentum must exceed 0.6 × (2 − 0.95) = 0.63, i.e. 13 of 20 messages
    @pytest.mark.parametrize(("messages", "fires"), [(12, False), (13, True)])
    def test_momentum(self, messages: int, fires: bool) -> None:
        engine = make_engine(roll=0.0)
        at = busy(engine, messages)
        d = engine.decide(G, at=at, triggered_by_message=True)
        assert (d.action == "join_conversation") is fires
        if not fires:
            assert "join: momentum 0.60 ≤ 0.63" in d.reason

    @pytest.mark.parametrize(("since", "fires"), [(4, False), (5, True)])
    def test_messages_since_the_bot_spoke(self, since: int, fires: bool) -> None:
        engine = make_engine(roll=0.0, join_cooldown_s=0.0)
        busy(engine, 20)
        engine.record_action(G, "reply", at=NOW + 59)
        at = talk(engine, since, start=NOW + 60 + 31, every=0.1)  # past the 30 s gate
        assert (engine.should_take_action(G, at=at) == "join_conversation") is fires

    @pytest.mark.parametrize(("ago", "fires"), [(300.0, False), (300.5, True)])
    def test_five_minute_cooldown(self, ago: float, fires: bool) -> None:
        engine = make_engine(roll=0.0)
        engine.record_action(G, "reply", at=NOW + 59 - ago)  # then 15 messages
        at = busy(engine, 15)
        assert (engine.should_take_action(G, at=at) == "join_conversation") is fires

    @pytest.mark.parametrize(("roll", "fires"), [(0.7999, True), (0.8, False)])
    def test_impulsiveness_roll(self, roll: float, fires: bool) -> None:
        engine = make_engine(roll=roll)
        at = busy(engine, 15)
        assert (engine.should_take_action(G, at=at) == "join_conversation") is fires


class TestEngageUser:
    def setup(self, *, roll: float = 0.0, started_ago: float = 60.0, action_ago: float = 3600.0):
        engine = make_engine(roll=roll)
        engine.update_mood(G, "bubbly", at=NOW)
        engine.record_action(G, "break_silence", at=NOW - action_ago)
        engine.track_presence(G, 9, at=NOW - started_ago, activity="Tetris 99")
        return engine

    @pytest.mark.parametrize(("started_ago", "fires"), [(600.0, True), (601.0, False)])
    def test_activity_window(self, started_ago: float, fires: bool) -> None:
        engine = self.setup(started_ago=started_ago)
        assert (engine.should_take_action(G, at=NOW) == "engage_user") is fires

    @pytest.mark.parametrize(("action_ago", "fires"), [(1800.0, False), (1800.5, True)])
    def test_thirty_minute_cooldown(self, action_ago: float, fires: bool) -> None:
        engine = self.setup(action_ago=action_ago)
        assert (engine.should_take_action(G, at=NOW) == "engage_user") is fires

    @pytest.mark.parametrize(("roll", "fires"), [(0.9499, True), (0.95, False)])
    def test_sociability_roll(self, roll: float, fires: bool) -> None:
        engine = self.setup(roll=roll)
        assert (engine.should_take_action(G, at=NOW) == "engage_user") is fires

    def test_nobody_to_engage_once_the_player_went_offline(self) -> None:
        """Seen in `guildmind simulate --seed 3`: a member started a game and went offline,
        and the bot engaged an empty room. The control: another member going offline does not
        stop it."""
        engine = self.setup()
        engine.track_presence(G, 5, at=NOW - 10, online=False)  # someone else leaves
        assert engine.should_take_action(G, at=NOW) == "engage_user"
        engine = self.setup()
        engine.track_presence(G, 9, at=NOW - 10, online=False)  # the player leaves
        d = engine.decide(G, at=NOW)
        assert d.action is None and "engage: no new activity to engage" in d.reason
        assert engine.state(G).activity_user is None  # and who it was is not kept

    @pytest.mark.parametrize(("recent", "fires"), [(9, True), (10, False)])
    def test_never_into_a_busy_conversation(self, recent: int, fires: bool) -> None:
        engine = self.setup(roll=0.999 if not fires else 0.0)
        engine.rules = RuleConfig(join_momentum_factor=1.0)  # keep join out of the way
        talk(engine, recent, start=NOW - 30, every=1)
        d = engine.decide(G, at=NOW)
        assert (d.action == "engage_user") is fires
        if not fires:
            assert "engage: the chat is busy (momentum 0.50)" in d.reason

    def test_an_engaged_activity_is_not_engaged_twice_but_a_new_one_is(self) -> None:
        engine = self.setup()
        engine.record_action(G, "engage_user", at=NOW)
        later = NOW + 1801
        engine.track_presence(G, 9, at=NOW + 1, activity=None)  # still online, nothing new
        assert engine.should_take_action(G, at=later) != "engage_user"
        engine.track_presence(G, 10, at=later - 10, activity="Minecraft")
        d = engine.decide(G, at=later)
        assert (d.action, d.user_id, d.activity) == ("engage_user", 10, "Minecraft")

    def test_next_wake_finds_the_engage_after_the_others_presence_runs_out(self) -> None:
        # engage_user does not need anyone online, so the presence of someone else ending first
        # (6 h after they were seen) must not hide its wake time (it used to: next_wake was None)
        engine = make_engine(roll=0.0)
        ttl = 6 * 3600
        engine.track_presence(G, 1, at=T0 + 1)  # present until T0 + 1 + 6 h
        engine.record_action(G, "reply", at=T0 + ttl - 1700)  # the cooldown ends at T0 + 6 h + 100
        engine.track_presence(G, 2, at=T0 + ttl - 100, activity="Tetris 99")  # still playing
        at = T0 + ttl - 40
        assert engine.should_take_action(G, at=at) is None
        wake = engine.next_wake(G, at=at)
        assert wake == pytest.approx(T0 + ttl + 100.001, abs=1e-6)
        assert engine.should_take_action(G, at=wake - 0.002) is None
        assert engine.should_take_action(G, at=wake) == "engage_user"


class TestFomo:
    @pytest.mark.parametrize(
        ("mood", "messages", "fires"),
        [("neutral", 24, False), ("neutral", 25, True), ("shy", 39, False), ("shy", 40, True)],
    )
    def test_messages_without_the_bot(self, mood: str, messages: int, fires: bool) -> None:
        engine = make_engine(roll=0.999)  # every roll fails: only fomo can fire
        at = busy(engine, messages, mood=mood)
        assert (engine.should_take_action(G, at=at) == "fomo_response") is fires

    @pytest.mark.parametrize(("recent", "fires"), [(4, False), (5, True)])
    def test_conversation_must_be_active(self, recent: int, fires: bool) -> None:
        # 25 messages long ago, then `recent` in the last minute: momentum 0.20 vs 0.25
        engine = make_engine(roll=0.999)
        engine.update_mood(G, "neutral", at=NOW)
        talk(engine, 25 - recent, start=NOW - 1800)
        at = talk(engine, recent, start=NOW + 50)
        assert (engine.should_take_action(G, at=at) == "fomo_response") is fires

    @pytest.mark.parametrize(("ago", "fires"), [(900.0, False), (900.5, True)])
    def test_fifteen_minute_cooldown(self, ago: float, fires: bool) -> None:
        engine = make_engine(roll=0.999)
        at = busy(engine, 30, mood="neutral")
        engine.record_action(G, "reply", at=at - ago)
        talk(engine, 25, start=at - 1, every=0.01)
        assert (engine.should_take_action(G, at=at) == "fomo_response") is fires


class TestBreakSilence:
    # bubbly: quiet for longer than 3600 × (2 − 0.9) = 3960 s
    def setup(self, *, roll: float = 0.0, present: bool = True) -> AutonomousEngine:
        engine = make_engine(roll=roll)
        engine.update_mood(G, "bubbly", at=T0)
        if present:
            engine.track_presence(G, 7, at=T0 + 1)
        return engine

    @pytest.mark.parametrize(("quiet", "fires"), [(3960.0, False), (3960.5, True)])
    def test_mood_scaled_quiet_period(self, quiet: float, fires: bool) -> None:
        engine = self.setup()
        talk(engine, 1, start=NOW)
        assert (engine.should_take_action(G, at=NOW + quiet) == "break_silence") is fires

    @pytest.mark.parametrize(("messages", "fires"), [(4, True), (5, False)])
    def test_fewer_than_five_messages_in_the_hour(self, messages: int, fires: bool) -> None:
        engine = self.setup()
        engine.record_action(G, "break_silence", at=NOW - 5000)
        talk(engine, messages, start=NOW - 3000, every=1)  # 50 min ago: in the hour window
        # quiet is measured from the last message: make it long enough, window still holds them
        engine.rules = RuleConfig(silence_base_s=600)
        assert (engine.should_take_action(G, at=NOW) == "break_silence") is fires

    def test_nobody_online_means_no_remark_into_an_empty_room(self) -> None:
        engine = self.setup(present=False)
        d = engine.decide(G, at=NOW)
        assert d.action is None and "silence: nobody is online" in d.reason

    def test_someone_going_offline_empties_the_room(self) -> None:
        engine = self.setup()
        engine.track_presence(G, 7, at=NOW - 1, online=False)
        assert engine.should_take_action(G, at=NOW) is None

    @pytest.mark.parametrize(("roll", "fires"), [(0.8999, True), (0.9, False)])
    def test_energy_roll(self, roll: float, fires: bool) -> None:
        engine = self.setup(roll=roll)
        assert (engine.should_take_action(G, at=NOW) == "break_silence") is fires

    def test_a_message_into_a_dead_chat_gets_an_answer_instead(self) -> None:
        engine = self.setup()
        at = talk(engine, 1, start=NOW)  # the first words in three hours
        d = engine.decide(G, at=at, triggered_by_message=True)
        assert d.action == "join_conversation"
        assert d.reason.startswith("someone spoke into a quiet chat: quiet for 3h00m")
        # the same moment on a timer is measured up to that message: not quiet at all
        assert engine.should_take_action(G, at=at) is None

    @pytest.mark.parametrize("mood", ["shy", "sleepy", "melancholy", "bubbly"])
    def test_a_message_into_a_dead_chat_is_answered_whatever_the_dice_and_presence(
        self, mood: str
    ) -> None:
        """No energy roll and no presence needed: the speaker is there and gets an answer. The
        control: the same guild on a timer, with nobody seen online, stays quiet."""
        engine = self.setup(roll=0.9999)  # every die says no
        engine.update_mood(G, mood, at=NOW)
        engine.track_presence(G, 7, at=NOW - 1, online=False)  # nobody online per presence
        assert engine.should_take_action(G, at=NOW) is None  # the control: no remark on a timer
        at = talk(engine, 1, start=NOW)
        d = engine.decide(G, at=at, triggered_by_message=True)
        assert d.action == "join_conversation" and d.reason.endswith("then someone spoke")


class TestShareTweet:
    def setup(self, *, curiosity: float = 0.95, present: bool = True) -> AutonomousEngine:
        moods = MoodBook({"nosy": MoodProfile(0.1, 0.1, 0.1, curiosity)})
        engine = AutonomousEngine(rng=FixedRoll(0.999), started_at=T0, moods=moods, learning=FIXED)
        engine.update_mood(G, "nosy", at=T0)
        if present:
            engine.track_presence(G, 7, at=T0 + 1)
        return engine

    @pytest.mark.parametrize(("curiosity", "fires"), [(0.69, False), (0.7, True)])
    def test_curious_moods_only(self, curiosity: float, fires: bool) -> None:
        engine = self.setup(curiosity=curiosity)
        assert (engine.should_take_action(G, at=NOW) == "share_tweet") is fires

    @pytest.mark.parametrize(("messages", "fires"), [(9, True), (10, False)])
    def test_fewer_than_ten_messages_in_the_hour(self, messages: int, fires: bool) -> None:
        engine = self.setup()
        talk(engine, messages, start=NOW - 1800)
        assert (engine.should_take_action(G, at=NOW) == "share_tweet") is fires

    @pytest.mark.parametrize(("ago", "fires"), [(3600.0, False), (3600.5, True)])
    def test_an_hour_since_the_last_action(self, ago: float, fires: bool) -> None:
        engine = self.setup()
        engine.record_action(G, "reply", at=NOW - ago)
        assert (engine.should_take_action(G, at=NOW) == "share_tweet") is fires

    def test_not_in_the_first_hour_after_start(self) -> None:
        engine = self.setup()
        assert engine.should_take_action(G, at=T0 + 3600) is None
        assert engine.should_take_action(G, at=T0 + 3601) == "share_tweet"

    def test_never_in_answer_to_a_message_and_never_to_an_empty_room(self) -> None:
        engine = self.setup()
        talk(engine, 1, start=NOW - 1800)  # a quiet hour, but no dead chat to answer into
        talk(engine, 1, start=NOW)
        assert engine.should_take_action(G, at=NOW + 1) == "share_tweet"  # the control: a timer
        d = engine.decide(G, at=NOW, triggered_by_message=True)
        assert d.action is None and "share: only on a timer" in d.reason
        empty = self.setup(present=False)
        assert "nobody is online to read it" in empty.decide(G, at=NOW).reason


def test_rules_are_checked_in_order_first_wins() -> None:
    # join and fomo both hold: join is first
    engine = make_engine(roll=0.0)
    at = busy(engine, 30)
    assert engine.should_take_action(G, at=at) == "join_conversation"


def test_other_channels_and_bots_do_not_count() -> None:
    from engine import GuildSettings

    engine = make_engine()
    engine.configure(G, GuildSettings(channels=frozenset({1})))
    assert engine.track_message(G, at=NOW, channel_id=1, author_id=5)
    assert not engine.track_message(G, at=NOW, channel_id=2, author_id=5)
    assert not engine.track_message(G, True, at=NOW, channel_id=1, author_id=6)
    assert engine.signals(G, at=NOW)["messages_hour"] == 1


def test_with_no_channel_configured_only_the_default_channel_counts() -> None:
    from engine import GuildSettings

    engine = make_engine()
    engine.configure(G, GuildSettings(default_channel=3))
    assert engine.track_message(G, at=NOW, channel_id=3, author_id=5)
    assert not engine.track_message(G, at=NOW, channel_id=2, author_id=5)
    engine.configure(G, GuildSettings(channels=frozenset({2}), default_channel=3))
    assert engine.track_message(G, at=NOW, channel_id=2, author_id=5)  # configured ones win
    assert not engine.track_message(G, at=NOW, channel_id=3, author_id=5)
    assert GuildSettings(default_channel=3).counted() == frozenset({3})
    assert GuildSettings().counted() == frozenset()


class TestUnansweredRemarks:
    """The bot stops talking into a room that does not answer, until someone does (issue 13).

    Driven as a runtime drives the engine: events go in with `apply`, a timer sleeps until
    `next_wake` and then asks `check`, a counted message asks `check` at once, and only what the
    engine decided is recorded. Bubbly: the quiet period is 3600 × (2 − 0.9) = 3960 s.
    """

    QUIET = 3960.0

    def quiet_guild(self) -> AutonomousEngine:
        engine = make_engine(roll=0.0)  # every roll passes: the rules' timing is what is tested
        engine.configure(G, GuildSettings(channels=frozenset({1})))
        engine.update_mood(G, "bubbly", at=T0)
        assert not engine.apply(PresenceEvent(G, 7, T0 + 1))  # someone is online (for 6 h)
        return engine

    @staticmethod
    def timer(engine: AutonomousEngine, at: float, until: float) -> tuple[list[str], float]:
        """A runtime's timer from `at` to `until`: (what the bot did, the time it stopped at)."""
        acted = []
        while (wake := engine.next_wake(G, at=at)) is not None and wake <= until:
            at = wake
            d = engine.check(G, at=at)
            if d is not None:
                engine.record_action(G, d.action, at=at)
                acted.append(d.action)
        return acted, at

    @staticmethod
    def message(engine: AutonomousEngine, at: float, **fields: object) -> Decision | None:
        """A message arrives; a counted one is checked at once, and acted on, as a runtime does."""
        event = MessageEvent(**{"guild_id": G, "channel_id": 1, "author_id": 8, "at": at, **fields})
        if not engine.apply(event):
            return None
        d = engine.check(G, at=at, triggered_by_message=True)
        if d is not None:
            engine.record_action(G, d.action, at=at)
        return d

    def two_ignored_remarks(self) -> tuple[AutonomousEngine, float]:
        """Quiet since the start: a remark after each quiet period, then none: the room is mute."""
        engine = self.quiet_guild()
        assert engine.next_wake(G, at=T0 + 1) == pytest.approx(T0 + self.QUIET + 0.001)
        acted, at = self.timer(engine, T0 + 1, T0 + 6 * 3600)
        assert acted == ["break_silence", "break_silence"]
        assert at == pytest.approx(T0 + 2 * self.QUIET + 0.002)  # the second, one period later
        assert engine.state(G).unanswered == 2
        assert engine.next_wake(G, at=at) is None  # nothing to wait for: no third remark
        return engine, at

    def test_two_remarks_nobody_answers_then_silence(self) -> None:
        engine, at = self.two_ignored_remarks()
        d = engine.decide(G, at=at + 2 * 3600)
        assert d.action is None
        assert "silence: 2 remarks in a row went unanswered" in d.reason

    def test_someone_speaking_into_the_quiet_chat_gets_an_answer_and_the_count_starts_over(
        self,
    ) -> None:
        engine, last_remark = self.two_ignored_remarks()
        hello = last_remark + 2 * 3600  # "anyone here?", two hours after the bot's last remark
        d = self.message(engine, hello)
        assert d is not None and d.action == "join_conversation" and d.trigger == "message"
        assert d.reason == (
            "someone spoke into a quiet chat: quiet for 2h00m (> 1h06m) with 1 messages in the "
            "last hour, then someone spoke"
        )
        assert engine.state(G).unanswered == 1  # the answer itself, nobody has replied to it yet
        # a new quiet period later the bot may break the silence again, then waits once more
        assert engine.next_wake(G, at=hello) == pytest.approx(hello + self.QUIET + 0.001)
        acted, at = self.timer(engine, hello, hello + 5 * 3600)
        assert acted == ["break_silence"]
        assert at == pytest.approx(hello + self.QUIET + 0.001)
        assert engine.state(G).unanswered == 2
        assert engine.next_wake(G, at=at) is None

    def test_a_human_message_clears_the_count_even_when_it_gets_no_answer(self) -> None:
        engine, last_remark = self.two_ignored_remarks()
        reply = last_remark + 600  # ten minutes later: no quiet chat to speak into, no momentum
        assert self.message(engine, reply) is None
        assert engine.state(G).unanswered == 0
        assert engine.next_wake(G, at=reply) == pytest.approx(reply + self.QUIET + 0.001)
        acted, _ = self.timer(engine, reply, reply + 5 * 3600)
        assert acted == ["break_silence", "break_silence"]

    @pytest.mark.parametrize(
        "event",
        [
            "a message outside the autonomous channels",
            "a bot's message",
            "a member joining",
            "a presence update",
        ],
    )
    def test_only_a_counted_human_message_clears_the_count(self, event: str) -> None:
        engine, last_remark = self.two_ignored_remarks()
        at = last_remark + 2 * 3600
        if event == "a message outside the autonomous channels":
            assert self.message(engine, at, channel_id=2) is None
        elif event == "a bot's message":
            assert self.message(engine, at, author_is_bot=True) is None
        elif event == "a member joining":
            assert not engine.apply(MemberJoinEvent(G, 9, at))
        else:
            assert not engine.apply(PresenceEvent(G, 9, at))
        assert engine.state(G).unanswered == 2
        assert engine.next_wake(G, at=at) is None
        d = engine.decide(G, at=at + 60)
        assert d.action is None
        assert "silence: 2 remarks in a row went unanswered" in d.reason
