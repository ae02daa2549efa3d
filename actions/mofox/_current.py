"""The MoFox action whose ``execute()`` is running in this task, if any.

MoFox's service APIs are module-level functions; a refused call reaches the action that made it
(its refusals, the round's observer) through this, even when the plugin catches the exception.
Not set during ``go_activate()``: the modifier starts it in its own context and may finish it in
a task's, where a token cannot be reset (a refused call there still raises).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

CURRENT_ACTION: ContextVar[Any] = ContextVar("mofox_current_action", default=None)
