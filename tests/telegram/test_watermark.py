"""The saved update state never passes an update that has not reached Temporal (pure, no server)."""

from __future__ import annotations

import pytest
from telethon import types

from activities.channels.telegram.watermark import ACCOUNT, Watermark, sequence_of


def new_message(pts: int, count: int = 1) -> types.UpdateNewMessage:
    return types.UpdateNewMessage(types.Message(id=pts, peer_id=types.PeerUser(1), date=None, message="x"), pts, count)


def channel_message(channel: int, pts: int) -> types.UpdateNewChannelMessage:
    msg = types.Message(id=pts, peer_id=types.PeerChannel(channel), date=None, message="x")
    return types.UpdateNewChannelMessage(msg, pts, 1)


@pytest.mark.parametrize(("update", "expected"), [
    (new_message(10), (ACCOUNT, 10, 1)),
    (new_message(12, 2), (ACCOUNT, 12, 2)),
    (channel_message(555, 7), (555, 7, 1)),
    (types.UpdateDeleteChannelMessages(channel_id=9, messages=[1], pts=4, pts_count=1), (9, 4, 1)),
    (types.UpdateUserTyping(user_id=1, action=types.SendMessageTypingAction()), None),  # no pts: not tracked
])
def test_sequence_of(update, expected) -> None:
    assert sequence_of(update) == expected


def test_safe_state_waits_for_the_oldest_update_in_flight() -> None:
    marks = Watermark()
    marks.start(ACCOUNT, 100)
    first, second, third = (marks.open(new_message(p)) for p in (101, 102, 103))
    assert marks.safe() == {ACCOUNT: 100}
    marks.close(second)  # a later chat finished first: still nothing past 101 is safe
    marks.close(third)
    assert marks.safe() == {ACCOUNT: 100} and marks.pending() == 1
    marks.close(first)
    assert marks.safe() == {ACCOUNT: 103} and marks.pending() == 0
    marks.close(first)  # closing twice changes nothing
    assert marks.safe() == {ACCOUNT: 103}


def test_channels_have_their_own_sequence_and_unknown_updates_are_ignored() -> None:
    marks = Watermark()
    marks.start(ACCOUNT, 5)
    ticket = marks.open(channel_message(42, 900))
    assert marks.safe() == {ACCOUNT: 5, 42: 899}
    marks.close(ticket)
    assert marks.safe() == {ACCOUNT: 5, 42: 900}
    assert marks.open(types.UpdateUserTyping(user_id=1, action=types.SendMessageTypingAction())) is None
    marks.close(None)
