"""Errors that end a process with a non-zero exit and one line of reason, for supervisors to act on."""

from __future__ import annotations


class GatewayError(RuntimeError):
    """A channel gateway cannot go on (dead update loop, lost connection, unsupported library).

    `neuroseller up` / `neuroseller telegram` log the reason and exit with code 1, so systemd's
    `Restart=on-failure` or a container's restart policy starts it again.
    """
