"""MoFox's ``get_logger``: a standard `logging` logger of that name."""

from __future__ import annotations

import logging

__all__ = ["get_logger"]


def get_logger(name: str) -> logging.Logger:
    """The `logging` logger `name` (the runtime's logging configuration applies to it)."""
    return logging.getLogger(name)
