"""Temporal's own floor for a chat turn: a bare workflow whose update runs one regular activity.

Kept in its own module with nothing but temporalio imported, so the sandbox validates it cheaply.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="floor_echo")
async def floor_echo(text: str) -> str:
    return text


@workflow.defn
class FloorWorkflow:
    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.update
    async def turn(self, text: str) -> str:
        return await workflow.execute_activity("floor_echo", text, start_to_close_timeout=timedelta(seconds=30))
