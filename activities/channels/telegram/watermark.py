"""Which Telegram update state is safe to save: the low-water mark of updates not yet handed over.

Telegram numbers the account's updates by `pts` (and each channel's by its own `pts`); a client that
reconnects asks for everything after the pts it saved. Saving a pts means "every update up to here
reached Temporal": save past one that did not, and a crash loses that customer's message. So every
update is opened when it arrives (with the pts it needs *before* it: `pts - pts_count`) and closed
when it has been dispatched and any job it started has finished. The safe pts of each sequence is
the lowest open "before" value, or the highest pts seen when nothing is open. Re-fetching an update
after a restart is harmless: its message id makes the second delivery a no-op.

Built on public data only (the `pts`/`pts_count` fields of the updates Telethon hands to handlers),
not on Telethon's private message box, so it works the same across Telethon versions.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

ACCOUNT = 0  # the account's own sequence; channels use their id


def sequence_of(update: object) -> tuple[int, int, int] | None:
    """(sequence key, pts, pts_count) of an update that carries a pts; None for those that do not."""
    pts = getattr(update, "pts", None)
    count = getattr(update, "pts_count", None)
    if not isinstance(pts, int) or not isinstance(count, int):
        return None
    channel = getattr(update, "channel_id", None)
    if channel is None:
        peer = getattr(getattr(update, "message", None), "peer_id", None)
        channel = getattr(peer, "channel_id", None)
    if channel is None and type(update).__name__.endswith(("ChannelMessage", "ChannelMessages")):
        return None  # a channel update whose channel we cannot name: never move the account's pts for it
    return (int(channel) if channel is not None else ACCOUNT, pts, count)


@dataclass
class Watermark:
    """Open updates per sequence and the highest pts seen; `safe()` is what may be saved."""

    high: dict[int, int] = field(default_factory=dict)
    _open: dict[int, Counter[int]] = field(default_factory=dict)

    def start(self, key: int, pts: int) -> None:
        """The state we start from (restored or fetched): nothing before it is ours to lose."""
        self.high[key] = max(self.high.get(key, 0), pts)

    def open(self, update: object) -> tuple[int, int] | None:
        """An update arrived; returns its ticket for `close`, or None when it carries no pts."""
        seq = sequence_of(update)
        if seq is None:
            return None
        key, pts, count = seq
        before = pts - count
        self._open.setdefault(key, Counter())[before] += 1
        self.high[key] = max(self.high.get(key, 0), pts)
        return key, before

    def close(self, ticket: tuple[int, int] | None) -> None:
        if ticket is None:
            return
        key, before = ticket
        opened = self._open.get(key)
        if not opened or not opened[before]:
            return
        opened[before] -= 1
        if not opened[before]:
            del opened[before]

    def safe(self) -> dict[int, int]:
        """Per sequence: the pts every update up to which has been handed over."""
        out = {}
        for key, high in self.high.items():
            opened = self._open.get(key)
            out[key] = min(opened) if opened else high
        return out

    def pending(self) -> int:
        return sum(sum(c.values()) for c in self._open.values())
