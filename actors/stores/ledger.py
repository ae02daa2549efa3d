"""The global token budget's ledger in the state store: one count per UTC day for every host.

`StoreLedger` is an `actions.GlobalLedger` over a store's `add_tokens` (`TokenCounter`): SQLite
(every host process on the machine shares the file; one write transaction per call) or Redis (a
server-side script per call, atomic for every host of the cluster). A reservation is added only if
the day's count stays within the limit, so all hosts together never reserve more than
``llm.global_daily_tokens`` a day, and the count survives restarts. Each LLM request costs two
store round trips (reserve, settle), run in a worker thread.

When the store cannot be reached the budget fails closed: the request is refused (templates
write; counted as the "global" scope) and a warning is logged; a settlement that fails leaves the
reservation counted (the safe side).
"""

from __future__ import annotations

import asyncio
import logging

from actors.stores.base import StoreError, TokenCounter

log = logging.getLogger(__name__)


class StoreLedger:
    """An `actions.GlobalLedger` kept in the state store `store` (see the module docstring)."""

    def __init__(self, store: TokenCounter) -> None:
        self.store = store

    async def reserve(self, day: int, tokens: int, limit: int) -> bool:
        try:
            return await asyncio.to_thread(self.store.add_tokens, day, tokens, limit)
        except StoreError as e:
            log.warning("the global token budget cannot be checked, LLM request refused: %s", e)
            return False

    async def settle(self, day: int, delta: int) -> None:
        try:
            await asyncio.to_thread(self.store.add_tokens, day, delta)
        except StoreError as e:
            log.warning("a global token settlement was not written (counted high): %s", e)

    async def spent(self, day: int) -> int:
        return await asyncio.to_thread(self.store.tokens, day)
