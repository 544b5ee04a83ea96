"""The report as one self-contained HTML page: plotly.js inlined once, no fonts or scripts fetched.

A manager opens it offline or as an e-mail attachment, often on a phone: one column, charts that
resize with the screen, tables that scroll sideways instead of overflowing.
"""

from __future__ import annotations

import html
from pathlib import Path

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from activities.crm.report import Report
from workers.report_cli import dur, pct, period, secs

CHART_CONFIG = {"displaylogo": False, "responsive": True, "displayModeBar": False}  # a report, not a workbench
LAYOUT = {"margin": {"l": 40, "r": 10, "t": 40, "b": 40}, "height": 320, "autosize": True,
          "font": {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 13},
          "legend": {"orientation": "h", "y": -0.2}}

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;padding:12px;color:#1b1f24;
background:#f6f7f9;max-width:960px;margin:auto}
h1{font-size:1.3rem;margin:.2rem 0} h2{font-size:1.05rem;margin:1.2rem 0 .4rem}
.meta{color:#57606a;font-size:.9rem}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:8px;margin:10px 0}
.card{background:#fff;border-radius:8px;padding:10px;box-shadow:0 1px 2px #0001}
.card b{display:block;font-size:1.4rem}.card span{color:#57606a;font-size:.85rem}
.chart{background:#fff;border-radius:8px;margin:8px 0;box-shadow:0 1px 2px #0001;min-height:320px}
.scroll{overflow-x:auto;background:#fff;border-radius:8px;box-shadow:0 1px 2px #0001}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{padding:6px 8px;border-bottom:1px solid #eaecef;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left;white-space:normal}
"""


def _chart(fig: go.Figure, div_id: str) -> str:
    fig.update_layout(**LAYOUT)
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=CHART_CONFIG,
                       default_width="100%", default_height="320px").replace("<div>", '<div class="chart">', 1)


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def charts(r: Report) -> dict[str, go.Figure]:
    """The figures by id; the test counts them in the browser's DOM."""
    out: dict[str, go.Figure] = {}
    out["funnel"] = go.Figure(go.Funnel(y=[s.name for s in r.funnel], x=[s.count for s in r.funnel],
                                        textinfo="value+percent initial"),
                              layout_title_text="Funnel")
    out["reply-histogram"] = go.Figure(go.Bar(x=[b.label for b in r.reply_histogram],
                                              y=[b.count for b in r.reply_histogram], marker_color="#4c78a8"),
                                       layout_title_text="Reply time (customer message → reply)")
    days = [d.day.isoformat() for d in r.days]
    over = go.Figure(layout_title_text="Over time")
    over.add_bar(x=days, y=[d.dialogues for d in r.days], name="dialogues", marker_color="#9ecae9")
    over.add_scatter(x=days, y=[d.leads for d in r.days], name="leads", mode="lines+markers")
    over.add_scatter(x=days, y=[d.won for d in r.days], name="won", mode="lines+markers")
    over.add_scatter(x=days, y=[d.escalations for d in r.days], name="escalations", mode="lines+markers",
                     line={"dash": "dot", "color": "#e45756"})
    out["over-time"] = over
    out["escalations"] = go.Figure(
        go.Bar(y=[e.reason for e in r.escalations], x=[e.count for e in r.escalations], orientation="h",
               name="escalations", marker_color="#e45756"),
        layout_title_text="Escalations by reason")
    if "variant" in r.segments:
        rows = r.segments["variant"]
        v = go.Figure(layout_title_text="A/B variants side by side (share of dialogues)", layout_barmode="group")
        for step, attr in (("intent", "intent"), ("contact", "contact"), ("cart", "cart"), ("won", "won")):
            v.add_bar(x=[s.value for s in rows], y=[getattr(s, attr) / s.dialogues if s.dialogues else 0 for s in rows],
                      name=step)
        v.update_yaxes(tickformat=".0%")
        out["variants"] = v
    return out


def render_html(r: Report) -> str:
    figs = charts(r)
    funnel = {s.name: s for s in r.funnel}
    cards = [("dialogues", str(funnel["dialogues"].count)), ("won", str(funnel["won"].count)),
             ("won / dialogues", pct(funnel["won"].of_dialogues)), ("reply p50", secs(r.reply.p50_ms)),
             ("reply p95", secs(r.reply.p95_ms)), ("escalations", str(sum(e.count for e in r.escalations)))]
    cards += [(f"won, {x.currency}", f"{x.amount:,.0f}".replace(",", " ")) for x in r.revenue]
    parts = [f"<h1>Sales report</h1><div class='meta'>{html.escape(period(r.query))}</div>",
             '<div class="cards">' + "".join(f'<div class="card"><b>{html.escape(v)}</b><span>{html.escape(k)}</span>'
                                             "</div>" for k, v in cards) + "</div>",
             _chart(figs["funnel"], "funnel"),
             _table(["step", "count", "from previous", "from dialogues"],
                    [[s.name, str(s.count), pct(s.conversion), pct(s.of_dialogues)] for s in r.funnel]),
             _chart(figs["reply-histogram"], "reply-histogram"),
             f"<p class='meta'>p50 {secs(r.reply.p50_ms)} · p95 {secs(r.reply.p95_ms)} · p99 {secs(r.reply.p99_ms)}"
             f" · {r.reply.count} replies</p>",
             _chart(figs["over-time"], "over-time"),
             "<h2>Escalations</h2>", _chart(figs["escalations"], "escalations"),
             _table(["reason", "count", "taken over", "takeover p50", "takeover max"],
                    [[e.reason, str(e.count), str(e.taken), dur(e.takeover_p50_s), dur(e.takeover_max_s)]
                     for e in r.escalations])]
    if "variants" in figs:
        parts += ["<h2>A/B variants</h2>", _chart(figs["variants"], "variants")]
    for dim, rows in r.segments.items():
        parts += [f"<h2>By {html.escape(dim)}</h2>", _table(
            [dim, "dialogues", "intent", "contact", "cart", "checkout", "won", "won %", "reply p50", "escalations"],
            [[s.value, str(s.dialogues), str(s.intent), str(s.contact), str(s.cart), str(s.checkout), str(s.won),
              pct(s.won_rate), secs(s.reply_p50_ms), str(s.escalations)] for s in rows])]
    f = r.followups
    other = [["refusals: " + (k.key or "—"), str(k.count)] for k in r.refusals]
    other += [["guard: " + k.key, str(k.count)] for k in r.guard]
    other += [["failover: " + k.key, str(k.count)] for k in r.failovers]
    other += [["follow-ups sent", str(f.sent)], ["leads followed up", str(f.leads)],
              ["replied after a follow-up", str(f.replied)], ["checkout after a follow-up", str(f.converted)]]
    other += [["proactive sent: " + k.key, str(k.count)] for k in r.proactive_sent]
    other += [["proactive suppressed: " + k.key, str(k.count)] for k in r.proactive_suppressed]
    other += [[f"model {m.provider}: calls / p50 / tokens in+out", f"{m.calls} / {secs(m.p50_ms)} / "
               f"{m.tokens_in}+{m.tokens_out}"] for m in r.model]
    parts += ["<h2>Refusals, guard, follow-ups</h2>", _table(["", ""], other)]
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>Sales report {html.escape(period(r.query))}</title><style>{CSS}</style>"
            f"<script>{get_plotlyjs()}</script></head><body>{''.join(parts)}</body></html>")


def write_html(r: Report, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_html(r), encoding="utf-8")
    tmp.replace(path)
