"""Tokens a model call used, handed from the vendor client to the `generate_reply` activity.

`ChatModel.complete` returns text only; the vendor adds what its response reported here, and the
activity takes the sum once the draft is ready. A context variable is per asyncio task, so
concurrent activities never mix their counts.
"""

from __future__ import annotations

from contextvars import ContextVar

_USAGE: ContextVar[tuple[int, int]] = ContextVar("llm_usage", default=(0, 0))


def add(tokens_in: int | None, tokens_out: int | None) -> None:
    seen_in, seen_out = _USAGE.get()
    _USAGE.set((seen_in + (tokens_in or 0), seen_out + (tokens_out or 0)))


def taken() -> tuple[int, int]:
    """(tokens in, tokens out) added since the last call, and start counting afresh."""
    value = _USAGE.get()
    _USAGE.set((0, 0))
    return value
