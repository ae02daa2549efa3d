"""The runtime, by role; only `actors.remote` imports Ray.

- `actors.loop`: the guild loop (pure, clock-free) and the host's plain core that drives it
- `actors.routing`: partitions, ownership, the gateway→host wire format, batching, sequencing, moves
- `actors.sources`: where events come from (Discord and the emulator through it, synthetic traffic)
- `actors.stores`: guild snapshots between restarts (SQLite, Redis, memory) and the write-behind
- `actors.remote`: the Ray shells (`GuildHost`, `Gateway`, `Directory`) and the `Runtime` driver
- `actors.clock`: the runtime clock every process agrees on
"""
