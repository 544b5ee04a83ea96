"""The reader: what a customer's message means (intents) and what it names (contacts, numbers).

`read` is imported lazily so that `entities` (which `neuroseller.pii` builds on) loads without the
model's dependencies.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Reading", "read"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from activities.brain.reader import reading

        return getattr(reading, name)
    raise AttributeError(name)
