"""Host names are exported (the `process` label, the restart counter's `host`): never an id."""

from __future__ import annotations

import re

from actors.remote.directory import guild_host_name, host_name

GUILD = 661720327696551948


def test_a_dedicated_hosts_name_is_opaque_and_stable_for_its_key() -> None:
    key = b"k" * 16
    name = guild_host_name("gm-abc123-", GUILD, key)
    assert re.fullmatch(r"gm-abc123-guild-[a-p]{16}", name)  # letters only: no digit of the id
    assert guild_host_name("gm-abc123-", GUILD, key) == name  # a restarted directory finds it
    assert guild_host_name("gm-abc123-", GUILD, b"x" * 16) != name  # another runtime's key
    names = {guild_host_name("p-", gid, key) for gid in range(GUILD, GUILD + 10_000)}
    assert len(names) == 10_000  # no two guilds share a host
    assert host_name("gm-abc123-", 3) == "gm-abc123-host-3"
