"""The `neuroseller` command: up, worker, chat, simulate, catalog/profile checks, leads, operators, Telegram.

Every failure a user can cause (a port in use, a broken catalog or profile, a bad dialogue file)
ends as one clear line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from activities.profiles import ProfileError, load_profile
from catalog.schema import CatalogError
from catalog.store import CatalogStore
from neuroseller.logs import setup_logging
from neuroseller.settings import Settings, get_settings
from workers.devserver import DevServer, DevServerError
from workers.embedded_postgres import EmbeddedPostgresError
from workers.errors import GatewayError
from workers.simulate import SimulateError

log = logging.getLogger("neuroseller")


class UsageError(RuntimeError):
    """A problem the user can fix; printed as one line."""


def _setup_logging(settings: Settings) -> None:
    setup_logging(settings.log_level, settings.log_format)  # LOG_FORMAT=json: one JSON object a line


# ---- runtime: server, database, worker ----------------------------------------------------------


@contextlib.asynccontextmanager
async def temporal_server(settings: Settings) -> AsyncIterator[str]:
    """TEMPORAL_ADDRESS when set, else the embedded dev server (started here, stopped on exit)."""
    if settings.temporal_address:
        yield settings.temporal_address
        return
    server = DevServer(port=settings.temporal_port, ui_port=settings.temporal_ui_port, var_dir=settings.var_dir,
                       namespace=settings.temporal_namespace)
    await server.start()
    print(f"Temporal server {server.address} · web UI http://localhost:{settings.temporal_ui_port}", flush=True)
    try:
        yield server.address
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def database(settings: Settings, *, required: bool = False) -> AsyncIterator[object | None]:
    """DATABASE_URL when set, else an embedded PostgreSQL under var/; None (no CRM) if neither works."""
    from activities.crm.db.database import Database
    from workers.embedded_postgres import EmbeddedPostgres, EmbeddedPostgresError

    embedded = None
    if settings.database_url:
        dsn = settings.database_url.get_secret_value()
    else:
        embedded = EmbeddedPostgres(settings.var_dir / "pg", port=settings.embedded_pg_port)
        try:
            dsn = await embedded.start()
        except EmbeddedPostgresError as err:
            if required:
                raise UsageError(f"embedded PostgreSQL: {err}") from err
            print(f"warning: embedded PostgreSQL not started ({err}); leads stay in Temporal only",
                  file=sys.stderr)
            yield None
            return
    db = Database(dsn)
    try:
        await db.connect()
        await db.migrate()
    except Exception as err:
        if embedded is not None:
            await embedded.stop()
        if required:
            raise UsageError(f"database: {err}") from err
        print(f"warning: database unavailable ({err}); leads stay in Temporal only", file=sys.stderr)
        yield None
        return
    try:
        yield db
    finally:
        await db.close()
        if embedded is not None:
            await embedded.stop()


def catalog_store(settings: Settings) -> CatalogStore:
    if settings.catalog_sheet_id:
        from catalog.sheet_source import SheetCatalogSource

        source = SheetCatalogSource.from_settings(settings)
        store = CatalogStore(source=source.load, fingerprint=source.fingerprint, name=source.name)
    else:
        store = CatalogStore(settings.catalog_path)
    store.load()
    return store


@contextlib.asynccontextmanager
async def running_worker(settings: Settings, address: str, db: object | None) -> AsyncIterator[object]:
    from activities.crm import make_sinks
    from activities.crm.activity import CrmActivities
    from workers.client import connect
    from workers.worker import build_worker

    runtime = None
    if settings.metrics_port:  # ours and the Temporal SDK's metrics on one /metrics
        from activities.crm import metrics
        from workers.telemetry import temporal_runtime

        metrics.serve(settings.metrics_port)
        runtime = temporal_runtime()
    client = await connect(address, settings.temporal_namespace, runtime=runtime)
    if settings.temporal_address:  # an external server: make sure leads stay filterable
        from workflows.search_attributes import ensure_registered

        try:
            added = await ensure_registered(client, settings.temporal_namespace)
            if added:
                log.info("registered search attributes: %s", ", ".join(added))
        except Exception as err:  # noqa: BLE001 - e.g. Temporal Cloud: register with tcld instead
            log.warning("could not register search attributes (%s); register them with your admin tools", err)
    store = catalog_store(settings)
    watcher = asyncio.create_task(store.watch(settings.catalog_poll_seconds))
    extra = []
    crm = None
    if db is not None:
        crm = CrmActivities(make_sinks(settings, db))
        extra = [crm.persist_lead, crm.sink_names]
    worker = build_worker(client, settings, catalog=lambda: store.catalog, extra_activities=extra)
    from workers.proactive_runtime import proactive_services

    try:
        async with worker, proactive_services(settings, client, lambda: store.catalog, db):  # triggers, shop events
            yield client
    finally:
        watcher.cancel()
        if crm is not None:
            await crm.close()


async def cmd_up(args: argparse.Namespace, settings: Settings) -> int:
    async with temporal_server(settings) as address, database(settings) as db, \
            running_worker(settings, address, db) as client:
        if db is None:
            settings = settings.model_copy(update={"persist_leads": False})
        if settings.voice_enabled:  # the voice gateway runs beside Telegram / the chat until `up` stops
            from workers.voice_gateway import start_beside

            start_beside(settings, client, db)
        if settings.telegram_configured:
            from workers.telegram_gateway import run_gateway

            if db is None:  # the send ledger and the update state must be durable
                raise UsageError("Telegram needs PostgreSQL (DATABASE_URL or the embedded one), which did not start")
            print("Telegram gateway running; Ctrl-C stops everything.", flush=True)
            await run_gateway(settings, client=client, database=db)
            return 0
        return await _chat(client, settings, args, persist_db=db)


async def _chat(client, settings: Settings, args: argparse.Namespace, persist_db: object | None) -> int:
    from workers.chat import chat_loop, local_input, stdin_lines

    inp = local_input(settings, getattr(args, "chat_id", None), persist=persist_db is not None,
                      profile=getattr(args, "profile", None))
    lines = getattr(args, "lines", None) or stdin_lines()  # tests hand in their own customer
    await chat_loop(client, inp, lines)
    return 0


async def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    async with temporal_server(settings) as address, database(settings) as db, \
            running_worker(settings, address, db) as client:
        return await _chat(client, settings, args, persist_db=db)


async def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    address = settings.temporal_address or f"127.0.0.1:{settings.temporal_port}"
    async with database(settings) as db, running_worker(settings, address, db):
        print(f"worker on task queue '{settings.task_queue}' at {address}; Ctrl-C to stop", flush=True)
        await asyncio.Event().wait()
    return 0  # pragma: no cover - runs until cancelled


async def cmd_server(args: argparse.Namespace, settings: Settings) -> int:
    async with temporal_server(settings):
        await asyncio.Event().wait()
    return 0  # pragma: no cover - runs until cancelled


async def cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    from workers.simulate import simulate, summary

    results = await simulate(settings, Path(args.dialogues), catalog_path=Path(args.catalog) if args.catalog else None,
                             out_path=Path(args.out), profile=args.profile, llm=args.llm,
                             concurrency=args.concurrency, persist=False)
    print(summary(results))
    print(f"results: {args.out}")
    if args.labels:
        from catalog.loader import load_csv
        from workers.shop_metrics import score

        metrics, failures = score(results, Path(args.dialogues), load_csv(Path(args.catalog or settings.catalog_path)),
                                  Path(args.thresholds) if args.thresholds else None)
        print(metrics.report())
        if failures:
            print(f"BELOW THRESHOLD: {'; '.join(failures)}")
            return 1
    return 0


async def cmd_catalog_check(args: argparse.Namespace, settings: Settings) -> int:
    from catalog.loader import load_csv

    catalog = load_csv(Path(args.file or settings.catalog_path))
    in_stock = sum(1 for i in catalog.items if i.in_stock)
    print(f"{catalog.source}: {len(catalog)} items ({in_stock} in stock), version {catalog.version}: OK")
    return 0


async def cmd_profile_check(args: argparse.Namespace, settings: Settings) -> int:
    paths = [Path(args.file)] if args.file else sorted(settings.profiles_dir.glob("*.toml"))
    for path in paths:
        profile = load_profile(path)
        print(f"{path}: profile '{profile.name}' OK (chats: {', '.join(profile.chats) or 'default'})")
    return 0


# ---- argument parsing ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neuroseller", description="AI sales assistant on Temporal")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("up", help="embedded Temporal + PostgreSQL, the worker, and Telegram or a local chat")
    p.add_argument("--chat-id", help="local chat id (default: your user name)")
    p.add_argument("--profile", help="profile name for the local chat")
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("chat", help="interactive chat in the terminal (starts what it needs)")
    p.add_argument("--chat-id")
    p.add_argument("--profile")
    p.set_defaults(func=cmd_chat)

    sub.add_parser("worker", help="run a worker against TEMPORAL_ADDRESS").set_defaults(func=cmd_worker)
    sub.add_parser("server", help="run only the embedded Temporal dev server").set_defaults(func=cmd_server)

    p = sub.add_parser("simulate", help="run JSONL dialogues through real lead workflows")
    p.add_argument("dialogues")
    p.add_argument("--catalog", help="catalog CSV (default: CATALOG_PATH)")
    p.add_argument("--profile", help="profile TOML path or name")
    p.add_argument("--llm", choices=["rules", "openai", "ollama"])
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--out", required=True)
    p.add_argument("--labels", action="store_true",
                   help="score labelled dialogues: sales metrics, exit 1 below thresholds")
    p.add_argument("--thresholds", help="TOML with a [thresholds] table for --labels")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("catalog", help="catalog tools")
    csub = p.add_subparsers(dest="catalog_cmd", required=True)
    c = csub.add_parser("check", help="validate a catalog CSV")
    c.add_argument("file", nargs="?")
    c.set_defaults(func=cmd_catalog_check)

    p = sub.add_parser("profile", help="profile tools")
    psub = p.add_subparsers(dest="profile_cmd", required=True)
    c = psub.add_parser("check", help="validate profile TOML files")
    c.add_argument("file", nargs="?")
    c.set_defaults(func=cmd_profile_check)

    for module in ("workers.leads_cli", "workers.operator_cli", "workers.eval_cli", "workers.telegram_gateway",
                   "workers.report_cli", "workers.proactive_cli", "workers.voice_gateway"):
        try:
            mod = __import__(module, fromlist=["register"])
        except ImportError as err:  # pragma: no cover - optional extra not installed
            log.debug("%s unavailable: %s", module, err)
            continue
        mod.register(sub)
    return parser


USER_ERRORS = (UsageError, DevServerError, CatalogError, ProfileError, SimulateError, FileNotFoundError,
               EmbeddedPostgresError)


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    # SIGTERM (systemd, docker, kill) and SIGHUP (a closed terminal or tmux pane) stop like Ctrl-C:
    # the task is cancelled, so every `async with` below unwinds and stops what it started
    for sig in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, task.cancel)
    return await args.func(args, settings)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
    except Exception as err:  # noqa: BLE001 - pydantic ValidationError: name the variable
        print(f"neuroseller: bad setting: {err}".splitlines()[0] + " " + " ".join(str(err).splitlines()[1:3]),
              file=sys.stderr)
        return 2
    _setup_logging(settings)
    if sys.stdin.isatty():
        # a parent that ignored or blocked SIGINT (a script's background job, some launchers and
        # libraries) passes that on to us; at an interactive prompt Ctrl-C must still stop everything
        if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
    try:
        return asyncio.run(_run(args, settings))
    except KeyboardInterrupt:
        print("\nstopped", file=sys.stderr)
        return 130
    except asyncio.CancelledError:
        return 0
    except USER_ERRORS as err:
        print(f"neuroseller: {err}", file=sys.stderr)
        return 2
    except GatewayError as err:  # a supervisor restarts on failure: say why, exit non-zero
        log.error("stopped: %s", err)
        return 1


if __name__ == "__main__":
    sys.exit(main())
