"""The guild host forgets: personal data when its hours are up, a guild the bot left after its
grace, a member on request; in memory and in the store alike, across a restart of the host."""

from __future__ import annotations

import asyncio

import msgspec

from actors.clock import ManualClock
from actors.loop import admin
from actors.loop.assembly import build_host_core
from actors.routing.wire import Batch, Line
from actors.stores.base import MemoryStore, StoreError
from engine import GuildSnapshot, MessageEvent, PresenceEvent
from guildmind.config import parse_config
from metrics import GuildmindMetrics, new_registry

T0 = 1_700_000_000.0
G, H = 5001, 5002
ALICE, BOB = 111, 222
TOML = f"""
[defaults]
quiet_hours = false
[mood_rotation]
interval_s = 0
[guilds.{G}]
mood = "shy"
channels = [77]
[guilds.{H}]
mood = "shy"
channels = [77]
"""


class DownStore(MemoryStore):
    """A memory store that refuses writes while `down`."""

    down = False

    def save(self, items) -> None:
        if self.down:
            raise StoreError("memory: store is down")
        super().save(items)


def host(store: MemoryStore, clock: ManualClock):
    async def send(gateway, messages) -> None:
        pass

    core = build_host_core(
        "host-0", parse_config(TOML, env={}), store=store, clock=clock, started_at=T0,
        send=send, metrics=GuildmindMetrics(new_registry(process_metrics=False)), seed=1,
    )  # fmt: skip
    core.load(lambda gid: True)
    return core


def stored(store: MemoryStore, gid: int) -> GuildSnapshot | None:
    data = store.load([gid]).get(gid)
    return None if data is None else msgspec.msgpack.decode(data, type=GuildSnapshot)


def people(snap: GuildSnapshot) -> set[int]:
    return set(snap.present or {}) | ({snap.activity_user} - {None})


def line(gid: int, author: int, name: str, text: str, at: float) -> Line:
    return Line(gid, 77, int(at), author, name, text, at)


async def talk(core, seq: int, events, lines=()) -> None:
    await core.apply(Batch("gw-0", seq, 0, T0, list(events), list(lines)))
    while core.tasks:
        await asyncio.gather(*list(core.tasks))


async def test_who_was_online_leaves_memory_and_store_when_their_hours_are_up() -> None:
    store, clock = MemoryStore(), ManualClock(T0 + 600)
    core = host(store, clock)
    await talk(core, 0, [PresenceEvent(G, ALICE, T0 + 600), PresenceEvent(H, BOB, T0 + 700)])
    await core.flush(force=True)
    assert people(stored(store, G)) == {ALICE} and people(stored(store, H)) == {BOB}
    clock.set(T0 + 600 + 6 * 3600)
    core.fire_timers(clock.now())
    await core.flush(force=True)
    assert people(stored(store, G)) == set() and people(stored(store, H)) == {BOB}
    # a host restarted later reloads what it wrote, and forgets Bob on loading
    clock.set(T0 + 800 + 6 * 3600)
    again = host(store, clock)
    assert again.engine.state(H).present is None
    await again.flush(force=True)
    assert people(stored(store, H)) == set()


async def test_a_member_is_erased_from_memory_transcripts_and_store() -> None:
    store, clock = MemoryStore(), ManualClock(T0 + 600)
    core = host(store, clock)
    events = [
        MessageEvent(G, 77, ALICE, T0 + 601),
        MessageEvent(G, 77, BOB, T0 + 602),
        PresenceEvent(H, ALICE, T0 + 603, activity="Celeste"),
    ]
    lines = [
        line(G, ALICE, "Alice", "hi all", T0 + 601),
        line(G, BOB, "Bob", f"hey <@{ALICE}>!", T0 + 602),
    ]
    await talk(core, 0, events, lines)
    await core.flush(force=True)
    assert ALICE in people(stored(store, G))
    assert await core.forget_user(ALICE) == 2
    # memory: the engine, the transcript (her lines, and mentions of her in others')
    assert ALICE not in (core.engine.state(G).present or {})
    assert core.engine.state(H).activity_user is None
    recent = core.transcripts.recent(G)
    assert [(m.author, m.content) for m in recent] == [("Bob", "hey @someone!")]
    # the store, written through before the answer
    assert people(stored(store, G)) == {BOB} and people(stored(store, H)) == set()
    assert stored(store, H).activity_name is None
    assert await core.forget_user(ALICE) == 0  # nothing left


async def test_an_erasure_a_restarted_host_repeats_is_complete() -> None:
    # The host erased in memory but died before the store had it: the restarted host reloads
    # the old snapshot; the erasure, called again (Ray retries a call the host died in), ends it.
    store, clock = DownStore(), ManualClock(T0 + 600)
    core = host(store, clock)
    await talk(core, 0, [PresenceEvent(G, ALICE, T0 + 600, activity="Celeste")])
    await core.flush(force=True)
    store.down = True
    try:
        await core.forget_user(ALICE)
    except StoreError:
        pass
    else:
        raise AssertionError("the erasure said it was done while the store refused it")
    assert ALICE in people(stored(store, G))  # the store still has her …
    store.down = False
    again = host(store, clock)  # … and the next incarnation reloads her
    assert ALICE in again.engine.state(G).present
    assert await again.forget_user(ALICE) == 1
    assert people(stored(store, G)) == set()


async def test_a_guild_the_bot_left_is_deleted_after_its_grace_even_across_a_restart() -> None:
    store, clock = MemoryStore(), ManualClock(T0 + 600)
    core = host(store, clock)
    await talk(core, 0, [MessageEvent(G, 77, ALICE, T0 + 600), MessageEvent(H, 77, BOB, T0 + 600)])
    assert await admin.left(core, G) and await admin.left(core, H)
    assert not await admin.left(core, 999)
    assert stored(store, G).left_at == T0 + 600 and people(stored(store, G)) == set()
    # H is invited back within the grace: it resumes
    clock.set(T0 + 600 + 3 * 86400)
    await admin.set_default_channel(core, H, 0)
    assert core.engine.left_at(H) is None and stored(store, H).left_at == float("-inf")
    # the host restarts in the middle of G's grace; the new one keeps the deadline
    core = host(store, clock)
    assert core.engine.left_at(G) == T0 + 600
    clock.set(T0 + 600 + 7 * 86400)
    core.fire_timers(clock.now())
    await core.flush(force=True)
    assert G not in core.engine and stored(store, G) is None
    assert stored(store, H) is not None and H in core.engine
