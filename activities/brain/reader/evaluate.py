"""Per-intent precision and recall of the reader on a labelled JSONL file (INTENTS.md format)."""

from __future__ import annotations

from pydantic import BaseModel

from activities.brain.reader.corpus import INTENTS, Example


class IntentScore(BaseModel):
    intent: str
    support: int
    predicted: int
    true_positive: int

    @property
    def precision(self) -> float:
        return self.true_positive / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.true_positive / self.support if self.support else 1.0


def score(examples: list[Example], predictions: list[list[str]]) -> list[IntentScore]:
    out = []
    for name in INTENTS:
        gold = [name in e.intents for e in examples]
        pred = [name in p for p in predictions]
        out.append(IntentScore(intent=name, support=sum(gold), predicted=sum(pred),
                               true_positive=sum(g and p for g, p in zip(gold, pred, strict=True))))
    return out


def exact_match(examples: list[Example], predictions: list[list[str]]) -> float:
    hits = sum(set(e.intents) == set(p) & set(INTENTS) for e, p in zip(examples, predictions, strict=True))
    return hits / len(examples) if examples else 1.0


def table(scores: list[IntentScore]) -> str:
    lines = [f"{'intent':<15}{'support':>8}{'precision':>10}{'recall':>8}"]
    for s in scores:
        lines.append(f"{s.intent:<15}{s.support:>8}{s.precision:>10.3f}{s.recall:>8.3f}")
    tp = sum(s.true_positive for s in scores)
    pred = sum(s.predicted for s in scores)
    sup = sum(s.support for s in scores)
    lines.append(f"{'micro':<15}{sup:>8}{tp / max(pred, 1):>10.3f}{tp / max(sup, 1):>8.3f}")
    return "\n".join(lines)
