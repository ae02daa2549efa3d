"""One rule for ids: a snowflake is an int with 0 < id < 2**63, on the wire, in the engine and in
the stores alike.

The fault: the stores refused ids at or above 2**63 while the engine adopted any int, so a guild
whose id came in out of range (a mangled GUILD_CREATE, a message from one) lived in the engine,
and every write-behind save that included it failed, for good, for every guild saved with it.
"""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.stores.base import MemoryStore
from engine import MAX_ID, MemberJoinEvent, MessageEvent, PresenceEvent, valid_id

from .conftest import T0, make_engine

BAD_IDS = [0, -1, MAX_ID + 1, 2**64 - 1, 2**64 + 1, -(2**63), True, False, "5", 5.0, None]
GOOD_IDS = [1, 2, 4242, 175928847299117063, MAX_ID]


@pytest.mark.parametrize("gid", GOOD_IDS)
def test_ids_from_1_to_2_63_minus_1_are_snowflakes(gid: int) -> None:
    assert valid_id(gid)
    engine = make_engine()
    assert engine.apply(MessageEvent(gid, 1, 2, T0 + 1))
    assert gid in engine
    MemoryStore().save({gid: engine.snapshot(gid)})


@pytest.mark.parametrize("gid", BAD_IDS)
def test_the_engine_never_adopts_a_guild_the_stores_could_not_save(gid: object) -> None:
    assert not valid_id(gid)
    engine = make_engine()
    for event in (
        MessageEvent(gid, 1, 2, T0 + 1),  # type: ignore[arg-type]
        PresenceEvent(gid, 2, T0 + 1, True, "Tetris"),  # type: ignore[arg-type]
        MemberJoinEvent(gid, 2, T0 + 1),  # type: ignore[arg-type]
    ):
        with pytest.raises(ValueError, match=r"guild_id must be a snowflake, an int with 0 < id"):
            engine.apply(event)
    with pytest.raises(ValueError, match="guild_id must be a snowflake"):
        engine.update_mood(gid, "bubbly", at=T0)  # type: ignore[arg-type]
    assert len(engine) == 0  # refused input leaves no state behind


@pytest.mark.parametrize("bad", [0, -1, MAX_ID + 1, 2**64 - 1])
@pytest.mark.parametrize("field", [0, 1, 2])
def test_decoding_an_event_refuses_an_id_out_of_range_in_any_id_field(bad: int, field: int) -> None:
    ids = [5, 6, 7]
    ids[field] = bad
    data = msgspec.msgpack.encode(["message", *ids, T0, False, False])
    with pytest.raises(msgspec.ValidationError, match=r"Expected `int` (>=|<=)"):
        msgspec.msgpack.decode(data, type=MessageEvent)
    if field < 2:  # a presence and a join have two ids
        for tag, kind in (("presence", PresenceEvent), ("member_join", MemberJoinEvent)):
            data = msgspec.msgpack.encode([tag, *ids[:2], T0])
            with pytest.raises(msgspec.ValidationError):
                msgspec.msgpack.decode(data, type=kind)


@given(st.integers(min_value=-(2**70), max_value=2**70))
def test_the_engine_and_the_stores_agree_on_every_int(gid: int) -> None:
    engine, store = make_engine(), MemoryStore()
    try:
        engine.apply(MemberJoinEvent(gid, 2, T0 + 1))
        adopted = True
    except ValueError:
        adopted = False
    try:
        store.save({gid: b"x"})
        saved = True
    except ValueError:
        saved = False
    assert adopted == saved == (0 < gid < 2**63)
