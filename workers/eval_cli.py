"""`neuroseller eval intents [FILE]` and `neuroseller evaluate SHOP_DIR...`: measured understanding.

`eval intents` prints the reader's per-intent precision and recall on a labelled JSONL file (default:
a held-out fifth of the training corpus, a development figure only). `evaluate` runs each shop's
labelled dialogues (`<shop>/catalog.csv`, optional `profile.toml`, `dialogues.jsonl`) through real
lead workflows and exits non-zero when a metric is below the shop's thresholds (`--thresholds`
TOML with an `[evaluate.thresholds]` or `[thresholds]` table, or the issue's defaults).
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
from pathlib import Path

from neuroseller.settings import Settings


def dev_split(seed: int = 0, share: float = 0.2) -> tuple[list, list]:
    """A fixed held-out share of the training corpus, for comparing feature sets during development."""
    from activities.brain.reader.corpus import corpus_files, read_examples

    examples = read_examples(corpus_files())
    rows = list(range(len(examples)))
    random.Random(seed).shuffle(rows)
    cut = int(len(rows) * share)
    return [examples[i] for i in rows[cut:]], [examples[i] for i in rows[:cut]]


async def cmd_eval_intents(args: argparse.Namespace, settings: Settings) -> int:
    from activities.brain.reader import model as intent_model
    from activities.brain.reader.corpus import INTENTS, read_examples
    from activities.brain.reader.evaluate import exact_match, score, table

    if args.file:  # the committed reader exactly as the policy calls it (model + the exact opt-out phrases)
        from activities.brain.reader import reading

        os.environ["READER_FEATURES"] = args.features
        examples = read_examples([Path(args.file)])
        predictions = [[i for i in reading.read(e.text, e.lang).intents if i in INTENTS] for e in examples]
        source = f"{args.file} (read() as the policy calls it)"
    else:
        train, examples = dev_split()
        predictions = intent_model.fit(train, args.features).predict([e.text for e in examples])
        source = f"dev split of the training corpus ({len(examples)} held out of {len(train) + len(examples)})"
    print(f"reader ({args.features}) on {source}")
    print(table(score(examples, predictions)))
    print(f"exact match {exact_match(examples, predictions):.3f}")
    if args.errors:
        for e, p in zip(examples, predictions, strict=True):
            if set(e.intents) != set(p):
                print(f"  «{e.text}» gold {sorted(e.intents)} read {sorted(p)}")
    return 0


async def run_shop(settings: Settings, shop: Path, thresholds: Path | None, llm: str | None,
                   details: bool = False) -> tuple[str, list[str]]:
    from catalog.loader import load_csv
    from workers.shop_metrics import score
    from workers.simulate import simulate

    dialogues = shop / "dialogues.jsonl"
    profile = shop / "profile.toml"
    with tempfile.TemporaryDirectory() as tmp:
        results = await simulate(settings, dialogues, catalog_path=shop / "catalog.csv",
                                 out_path=Path(tmp) / "out.jsonl", profile=str(profile) if profile.exists() else None,
                                 llm=llm, persist=False)
    metrics, failures = score(results, dialogues, load_csv(shop / "catalog.csv"),
                              thresholds or (profile if profile.exists() else None))
    report = metrics.report()
    if details:  # what a shop owner fixes next: each miss, named by its dialogue
        for name in ("leads", "escalations", "unknown_items", "unknown_precision", "next_step", "opt_outs"):
            report += "".join(f"\n  {name} miss: {m}" for m in getattr(metrics, name).misses)
        report += "".join(f"\n  invented: {f}" for f in metrics.invented_figures)
    return report, failures


async def cmd_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    failed = 0
    for shop in args.shops:
        report, failures = await run_shop(settings, Path(shop), Path(args.thresholds) if args.thresholds else None,
                                          args.llm, args.details)
        print(f"{shop}: {report}")
        if failures:
            failed += 1
            print(f"  BELOW THRESHOLD: {'; '.join(failures)}")
    return 1 if failed else 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="measure the reader")
    esub = p.add_subparsers(dest="eval_cmd", required=True)
    c = esub.add_parser("intents", help="per-intent precision/recall on a labelled JSONL (default: dev split)")
    c.add_argument("file", nargs="?")
    c.add_argument("--features", default="ngram", choices=["ngram", "e5", "both"])
    c.add_argument("--errors", action="store_true", help="print every misread example")
    c.set_defaults(func=cmd_eval_intents)
    p = sub.add_parser("evaluate", help="labelled dialogues of shop folders: sales metrics, non-zero exit below "
                                        "thresholds")
    p.add_argument("shops", nargs="+", help="folders with catalog.csv, dialogues.jsonl, optional profile.toml")
    p.add_argument("--thresholds", help="TOML with [thresholds] (default: the shop's profile.toml, else defaults)")
    p.add_argument("--llm", choices=["rules", "openai", "ollama"])
    p.add_argument("--details", action="store_true", help="list every miss")
    p.set_defaults(func=cmd_evaluate)
