"""Container health: is a process on *this host* polling its Temporal task queue?

`python -m workers.healthcheck [worker|telegram]` exits 0 when Temporal answers and a poller whose
identity names this host (the SDK's default identity is `pid@hostname`) is on the role's task queue:
the worker on `TASK_QUEUE` (workflow tasks), the Telegram gateway on `TELEGRAM_TASK_QUEUE`
(activities). A process that is up but wedged or disconnected stops polling, so it turns unhealthy.
"""

from __future__ import annotations

import asyncio
import socket
import sys

from temporalio.api.enums.v1 import TaskQueueKind, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from neuroseller.settings import Settings

ROLES = {"worker": TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, "telegram": TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY}


async def pollers_here(client: Client, namespace: str, task_queue: str, kind: TaskQueueType,
                       host: str | None = None) -> list[str]:
    """Identities of this host's pollers on `task_queue`."""
    host = host or socket.gethostname()
    resp = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
        namespace=namespace, task_queue=TaskQueue(name=task_queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
        task_queue_type=kind))
    return [p.identity for p in resp.pollers if p.identity.endswith(f"@{host}")]


async def check(settings: Settings, role: str, host: str | None = None) -> str | None:
    """None when healthy, else the reason."""
    address = settings.temporal_address or f"127.0.0.1:{settings.temporal_port}"
    queue = settings.telegram_task_queue if role == "telegram" else settings.task_queue
    try:
        client = await asyncio.wait_for(Client.connect(address, namespace=settings.temporal_namespace), 5)
        found = await pollers_here(client, settings.temporal_namespace, queue, ROLES[role], host)
    except Exception as err:  # noqa: BLE001 - any failure is "unhealthy", said in one line
        return f"Temporal at {address}: {err}"
    return None if found else f"no poller of this host on task queue '{queue}'"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    role = args[0] if args else "worker"
    if role not in ROLES:
        print(f"usage: python -m workers.healthcheck [{'|'.join(ROLES)}]", file=sys.stderr)
        return 2
    problem = asyncio.run(check(Settings(), role))
    if problem:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    print("healthy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
