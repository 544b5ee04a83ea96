"""The closed list of intents and the labelled corpus the reader learns from (see INTENTS.md).

The corpus is JSONL committed next to this module (`corpus/*.jsonl`); its hash names the cached
model, so editing a line retrains on the next start and nothing trained is ever committed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, Field

INTENTS: tuple[str, ...] = (
    "greeting", "price", "availability", "need", "buy", "checkout", "confirm", "refuse", "cancel", "objection",
    "discount", "delivery", "payment", "returns", "warranty", "hours", "attribute", "order_status",
    "human_request", "complaint", "legal_threat", "opt_out", "smalltalk", "thanks", "bye", "contact",
)
CORPUS_DIR = Path(__file__).with_name("corpus")


class Example(BaseModel):
    text: str
    lang: str = "ru"
    intents: list[str] = Field(default_factory=list)


class CorpusError(ValueError):
    """A corpus line that is not valid JSON or names an intent outside the closed list."""


def read_examples(paths: Iterable[Path]) -> list[Example]:
    """Every example of the given JSONL files; an unknown intent is an error, not a silent new class."""
    out: list[Example] = []
    for path in sorted(paths):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                ex = Example.model_validate_json(line)
            except ValueError as err:
                raise CorpusError(f"{path}:{n}: {err}") from err
            bad = [i for i in ex.intents if i not in INTENTS]
            if bad:
                raise CorpusError(f"{path}:{n}: unknown intent(s) {bad}")
            out.append(ex)
    return out


def corpus_files(directory: Path = CORPUS_DIR) -> list[Path]:
    return sorted(directory.glob("*.jsonl"))


def corpus_hash(examples: Iterable[Example], salt: str = "") -> str:
    """Content hash of the training data (order-independent) plus the model's own version salt."""
    digest = hashlib.sha256(salt.encode())
    for line in sorted(json.dumps(e.model_dump(), ensure_ascii=False, sort_keys=True) for e in examples):
        digest.update(line.encode())
    return digest.hexdigest()[:16]
