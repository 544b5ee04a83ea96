"""`neuroseller campaign …`, `triggers preview`, `ab results`: proactive selling from a terminal.

Campaigns are Temporal Schedules (`campaign-NAME`), visible on the Temporal UI's Schedules page;
each run is a `CampaignWorkflow` (`campaign-NAME-<time>`) whose result is that run's figures.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    WorkflowExecutionStatus,
)
from temporalio.service import RPCError

from activities.proactive.reach import segment_query
from neuroseller.settings import Settings
from workflows import ab
from workflows.campaign import RUN_PLACEHOLDER
from workflows.proactive_types import Audience, CampaignResults, CampaignSpec, ProactiveRequest

PREFIX = "campaign-"


def _usage(message: str) -> Exception:
    from workers.cli import UsageError

    return UsageError(message)


async def _client(settings: Settings, client: Client | None) -> Client:
    if client is not None:
        return client
    from workers.client import connect

    return await connect(settings.temporal_address or f"localhost:{settings.temporal_port}",
                         settings.temporal_namespace)


def register(sub: Any) -> None:
    p = sub.add_parser("campaign", help="scheduled campaigns (Temporal Schedules)")
    c = p.add_subparsers(dest="campaign_cmd", required=True)
    create = c.add_parser("create", help="create a scheduled campaign")
    create.add_argument("name")
    create.add_argument("--cron", required=True, help='when, e.g. "0 11 * * 1" (SHOP_TIMEZONE)')
    create.add_argument("--segment", default="", help="visibility query over leads, e.g. \"LeadStatus = 'cart'\"")
    create.add_argument("--text-ru", default="")
    create.add_argument("--text-en", default="")
    create.add_argument("--template", help="a [templates.NAME] of the profile (texts with fact slots)")
    create.add_argument("--profile", default="default", help="profile holding --template")
    create.add_argument("--paused", action="store_true", help="create paused")
    create.set_defaults(func=campaign_create)
    for name, func, text in (("list", campaign_list, "list campaigns"),):
        c.add_parser(name, help=text).set_defaults(func=func)
    for name, func, text in (("describe", campaign_describe, "spec, state, next and recent runs"),
                             ("pause", campaign_pause, "pause the schedule"),
                             ("resume", campaign_resume, "resume the schedule"),
                             ("run-now", campaign_run_now, "start a run now"),
                             ("delete", campaign_delete, "delete the schedule (runs keep their results)"),
                             ("results", campaign_results, "targeted, sent, suppressed, replied, converted")):
        one = c.add_parser(name, help=text)
        one.add_argument("name")
        one.set_defaults(func=func)

    p = sub.add_parser("triggers", help="catalog triggers (back in stock, price drop, promotion)")
    t = p.add_subparsers(dest="triggers_cmd", required=True)
    preview = t.add_parser("preview", help="who would be told what if this catalog replaced the live one")
    preview.add_argument("after", help="the new catalog CSV")
    preview.add_argument("--before", help="the current catalog (default: CATALOG_PATH)")
    preview.set_defaults(func=triggers_preview)

    p = sub.add_parser("ab", help="A/B tests of sales scripts")
    a = p.add_subparsers(dest="ab_cmd", required=True)
    res = a.add_parser("results", help="leads, carts, checkouts, won per variant, with confidence intervals")
    res.add_argument("profile")
    res.set_defaults(func=ab_results)


# ---- campaigns ------------------------------------------------------------------------------------


def _texts(args: argparse.Namespace, settings: Settings) -> tuple[str, str]:
    if args.template:
        from activities.profiles import ProfileStore

        profile = ProfileStore(settings.profiles_dir).resolve(args.profile, "")
        template = profile.templates.get(args.template)
        if template is None:
            raise _usage(f"profile '{profile.name}' has no [templates.{args.template}]")
        return template.ru, template.en
    if not (args.text_ru or args.text_en):
        raise _usage("a campaign needs --text-ru/--text-en or --template")
    return args.text_ru, args.text_en


async def campaign_create(args: argparse.Namespace, settings: Settings, client: Client | None = None,
                          out: TextIO | None = None) -> int:
    out = out or sys.stdout
    client = await _client(settings, client)
    ru, en = _texts(args, settings)
    query = segment_query(args.segment, settings.task_queue)
    try:
        count = (await client.count_workflows(query)).count
    except RPCError as err:
        raise _usage(f"--segment is not a valid query: {err.message}") from err
    spec = CampaignSpec(
        name=args.name, sends_per_second=settings.campaign_sends_per_second,
        reply_window_seconds=settings.campaign_reply_window_hours * 3600,
        audiences=[Audience(query=query, request=ProactiveRequest(
            key=f"campaign:{args.name}:{RUN_PLACEHOLDER}", kind="campaign", source=args.name, text_ru=ru,
            text_en=en))])
    try:
        await client.create_schedule(
            PREFIX + args.name,
            Schedule(
                action=ScheduleActionStartWorkflow("CampaignWorkflow", spec, id=PREFIX + args.name,
                                                   task_queue=settings.task_queue),
                spec=ScheduleSpec(cron_expressions=[args.cron], time_zone_name=settings.shop_timezone),
                policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.ALLOW_ALL),
                state=ScheduleState(paused=args.paused, note="created from the CLI")),
            memo={"cron": args.cron, "segment": args.segment or "all leads"})  # the server keeps cron as calendars
    except RPCError as err:
        raise _usage(f"campaign {args.name}: {err.message}") from err
    print(f"campaign {args.name}: scheduled '{args.cron}' ({settings.shop_timezone}); "
          f"{count} lead(s) match the segment now", file=out)
    return 0


async def campaign_list(args: argparse.Namespace, settings: Settings, client: Client | None = None,
                        out: TextIO | None = None) -> int:
    out = out or sys.stdout
    client = await _client(settings, client)
    rows = []
    async for item in await client.list_schedules():
        if not item.id.startswith(PREFIX):
            continue
        info = item.info
        cron = str((await item.memo()).get("cron", ""))
        nxt = info.next_action_times[0].isoformat(timespec="minutes") if info and info.next_action_times else "-"
        paused = "paused" if item.schedule and item.schedule.state.paused else "active"
        rows.append(f"{item.id[len(PREFIX):]:<24} {paused:<7} {cron:<16} next {nxt}")
    print("\n".join(sorted(rows)) or "no campaigns", file=out)
    return 0


async def _handle(settings: Settings, client: Client | None, name: str) -> Any:
    return (await _client(settings, client)).get_schedule_handle(PREFIX + name)


async def campaign_describe(args: argparse.Namespace, settings: Settings, client: Client | None = None,
                            out: TextIO | None = None) -> int:
    out = out or sys.stdout
    client = await _client(settings, client)
    try:
        desc = await client.get_schedule_handle(PREFIX + args.name).describe()
    except RPCError as err:
        raise _usage(f"campaign {args.name}: {err.message}") from err
    action = desc.schedule.action
    lines = [f"campaign {args.name} ({'paused' if desc.schedule.state.paused else 'active'})",
             f"  cron: {(await desc.memo()).get('cron', '?')} ({desc.schedule.spec.time_zone_name or 'UTC'})"]
    if isinstance(action, ScheduleActionStartWorkflow) and action.args:
        spec: CampaignSpec = (await client.data_converter.decode(action.args[:1], [CampaignSpec]))[0]
        for audience in spec.audiences:
            lines += [f"  segment: {audience.query}", f"  text ru: {audience.request.text_ru}",
                      f"  text en: {audience.request.text_en}"]
    lines += [f"  next: {t.isoformat(timespec='minutes')}" for t in desc.info.next_action_times[:3]]
    lines += [f"  ran: {a.started_at.isoformat(timespec='minutes')}" for a in desc.info.recent_actions[-3:]]
    print("\n".join(lines), file=out)
    return 0


async def _act(args: argparse.Namespace, settings: Settings, client: Client | None, out: TextIO | None,
               verb: str, done: str) -> int:
    handle = await _handle(settings, client, args.name)
    try:
        if verb == "trigger":
            await handle.trigger(overlap=ScheduleOverlapPolicy.ALLOW_ALL)
        elif verb in ("pause", "unpause"):
            await getattr(handle, verb)(note=f"{done} from the CLI")
        else:
            await handle.delete()
    except RPCError as err:
        raise _usage(f"campaign {args.name}: {err.message}") from err
    print(f"campaign {args.name}: {done}", file=out or sys.stdout)
    return 0


async def campaign_pause(args, settings, client=None, out=None) -> int:
    return await _act(args, settings, client, out, "pause", "paused")


async def campaign_resume(args, settings, client=None, out=None) -> int:
    return await _act(args, settings, client, out, "unpause", "resumed")


async def campaign_run_now(args, settings, client=None, out=None) -> int:
    return await _act(args, settings, client, out, "trigger", "run started")


async def campaign_delete(args, settings, client=None, out=None) -> int:
    return await _act(args, settings, client, out, "delete", "deleted")


async def run_results(client: Client, name: str) -> list[CampaignResults]:
    """Every run's figures, oldest first: finished runs from their result, running ones by query."""
    runs: list[CampaignResults] = []
    query = f"WorkflowType = 'CampaignWorkflow' AND Campaign = '{name}'"
    async for wf in client.list_workflows(query):
        handle = client.get_workflow_handle(wf.id, run_id=wf.run_id)
        try:
            if wf.status == WorkflowExecutionStatus.COMPLETED:
                runs.append(await handle.result(result_type=CampaignResults))
            elif wf.status == WorkflowExecutionStatus.RUNNING:
                runs.append(await handle.query("results", result_type=CampaignResults))
        except Exception:  # noqa: BLE001 - one unreadable run must not hide the others
            continue
    return sorted(runs, key=lambda r: r.started_at or r.run_id)


def format_results(name: str, runs: list[CampaignResults]) -> str:
    if not runs:
        return f"campaign {name}: no runs yet"
    total = CampaignResults(name=name)
    lines = [f"campaign {name}: {len(runs)} run(s)"]
    for r in runs:
        for field in ("targeted", "sent", "deferred", "duplicate", "replied", "converted"):
            setattr(total, field, getattr(total, field) + getattr(r, field))
        for reason, n in r.suppressed.items():
            total.suppressed[reason] = total.suppressed.get(reason, 0) + n
        lines.append(f"  {r.run_id}: {_figures(r)}{'' if r.measured else ' (reply window open)'}")
    lines.append(f"  total: {_figures(total)}")
    return "\n".join(lines)


def _figures(r: CampaignResults) -> str:
    suppressed = sum(r.suppressed.values())
    why = ", ".join(f"{k} {v}" for k, v in sorted(r.suppressed.items()))
    return (f"targeted {r.targeted}, sent {r.sent}, deferred {r.deferred}, suppressed {suppressed}"
            f"{f' ({why})' if why else ''}, replied {r.replied}, converted {r.converted}")


async def campaign_results(args: argparse.Namespace, settings: Settings, client: Client | None = None,
                           out: TextIO | None = None) -> int:
    runs = await run_results(await _client(settings, client), args.name)
    print(format_results(args.name, runs), file=out or sys.stdout)
    return 0


# ---- catalog triggers -----------------------------------------------------------------------------


async def triggers_preview(args: argparse.Namespace, settings: Settings, client: Client | None = None,
                           out: TextIO | None = None) -> int:
    from catalog import triggers
    from catalog.loader import load_csv
    from catalog.render import render_slots
    from workflows.types import LeadState

    out = out or sys.stdout
    before = load_csv(Path(args.before or settings.catalog_path))
    after = load_csv(Path(args.after))
    found = triggers.diff(before, after)
    if not found:
        print("no triggers: nothing came back in stock, got cheaper or went on promotion", file=out)
        return 0
    try:
        client = await _client(settings, client)
    except Exception as err:  # noqa: BLE001 - the diff is still useful without a server
        print(f"(Temporal unreachable: {err}; showing the changes only)", file=out)
        client = None
    for trig in found:
        ru, _ = triggers.texts(trig)
        print(f"{trig.kind} {trig.sku}: «{render_slots(ru, after, [], 'ru').text}»", file=out)
        if client is None:
            continue
        told, fresh = [], []
        watchers = segment_query(f"WatchedSkus = '{trig.sku.upper()}'", settings.task_queue)
        async for wf in client.list_workflows(watchers):
            state = await client.get_workflow_handle(wf.id).query("state", result_type=LeadState)
            (told if triggers.dedupe_key(trig) in state.proactive.done else fresh).append(wf.id)
        print(f"  would tell {len(fresh)} lead(s): {', '.join(sorted(fresh)) or '-'}"
              f"{f'; already told: {len(told)}' if told else ''}", file=out)
    print("(each lead's caps, quiet hours and opt-out still apply when it is sent)", file=out)
    return 0


# ---- A/B results ----------------------------------------------------------------------------------


async def variant_counts(db: Any, profile: str) -> list[dict[str, Any]]:
    pool = await db.pool()
    rows = await pool.fetch(
        "SELECT variant, count(*) AS leads,"
        " count(*) FILTER (WHERE status IN ('cart', 'checkout', 'won')) AS carts,"
        " count(*) FILTER (WHERE status IN ('checkout', 'won')) AS checkouts,"
        " count(*) FILTER (WHERE status = 'won') AS won"
        " FROM leads WHERE variant LIKE $1 GROUP BY variant ORDER BY variant", f"{profile}:%")
    return [dict(r) for r in rows]


def format_ab(profile: str, rows: list[dict[str, Any]]) -> str:
    """The table and a verdict: conversion = reached checkout (checkout or won) per lead."""
    if not rows:
        return f"profile {profile}: no leads with a variant yet"
    lines = [f"{'variant':<20} {'leads':>6} {'carts':>6} {'checkouts':>9} {'won':>5}  conversion (95% CI)"]
    for r in rows:
        low, high = ab.wilson(r["checkouts"], r["leads"])
        rate = r["checkouts"] / r["leads"] if r["leads"] else 0.0
        lines.append(f"{r['variant']:<20} {r['leads']:>6} {r['carts']:>6} {r['checkouts']:>9} {r['won']:>5}  "
                     f"{rate:6.1%} ({low:.1%}–{high:.1%})")
    if len(rows) < 2:
        lines.append("verdict: only one variant has leads; nothing to compare yet")
        return "\n".join(lines)
    ranked = sorted(rows, key=lambda r: r["checkouts"] / r["leads"] if r["leads"] else 0.0, reverse=True)
    best, second = ranked[0], ranked[1]
    p = ab.two_proportion_p(best["checkouts"], best["leads"], second["checkouts"], second["leads"])
    if p < 0.05:
        lines.append(f"verdict: {best['variant']} converts better than {second['variant']} (p = {p:.3f})")
    else:
        lines.append(f"verdict: not yet significant (p = {p:.2f}); keep the test running")
    return "\n".join(lines)


async def ab_results(args: argparse.Namespace, settings: Settings, db: Any = None, out: TextIO | None = None) -> int:
    if db is None:
        from workers.leads_cli import open_database

        async with open_database(settings) as opened:
            return await ab_results(args, settings, opened, out)
    print(format_ab(args.profile, await variant_counts(db, args.profile)), file=out or sys.stdout)
    return 0

