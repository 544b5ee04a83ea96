"""The store keeps serving the last good catalog through broken edits and picks up fixed ones."""

from __future__ import annotations

import asyncio
import logging
import os
from decimal import Decimal
from pathlib import Path

import pytest

from catalog.loader import catalog_from_csv_text
from catalog.schema import Catalog, CatalogError
from catalog.store import CatalogStore, get_default_store, set_default_store

HEADER = "sku,name,price,currency,stock\n"


def write(path: Path, body: str) -> None:
    """Write and bump mtime so a same-size rewrite within one clock tick is still a new stat."""
    path.write_text(HEADER + body, encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


def test_broken_write_keeps_last_good_then_fixed_is_picked_up(tmp_path: Path, caplog) -> None:
    path = tmp_path / "catalog.csv"
    write(path, "A,Alpha,100,RUB,1\n")
    store = CatalogStore(path)
    first = store.load()
    assert store.catalog is first and store.loaded and store.last_error is None
    assert store.reload_if_changed() is False  # nothing changed

    write(path, "A,Alpha,100,RUB,1\nB,Beta,oops,RUB,1\n")
    with caplog.at_level(logging.ERROR, logger="catalog.store"):
        assert store.reload_if_changed() is False
        assert store.reload_if_changed() is False  # same broken content: not re-logged
    assert store.catalog is first
    assert store.last_error is not None and store.last_error.issues[0].line == 3
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and f"{path}:3: column 'price'" in errors[0].getMessage()

    write(path, "A,Alpha,100,RUB,1\nB,Beta,200,RUB,1\n")
    assert store.reload_if_changed() is True
    assert store.catalog.get("B") is not None and store.last_error is None
    assert store.catalog.version != first.version


def test_touch_or_identical_rewrite_is_not_a_change(tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    write(path, "A,Alpha,100,RUB,1\n")
    store = CatalogStore(path)
    store.load()
    write(path, "A,Alpha,100,RUB,1\n")  # new mtime, same bytes
    assert store.reload_if_changed() is False


def test_file_deleted_keeps_serving(tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    write(path, "A,Alpha,100,RUB,1\n")
    store = CatalogStore(path)
    good = store.load()
    path.unlink()
    assert store.reload_if_changed() is False and store.reload_if_changed() is False
    assert store.catalog is good and store.last_error is not None


def test_initial_load_failure_raises_and_catalog_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    store = CatalogStore(path)
    with pytest.raises(CatalogError, match="not loaded yet"):
        _ = store.catalog
    with pytest.raises(CatalogError, match="file not found"):
        store.load()
    with pytest.raises(CatalogError, match="file not found"):
        _ = store.catalog
    write(path, "A,Alpha,100,RUB,1\n")
    assert store.reload_if_changed() is True and store.catalog.get("A") is not None


def test_generic_source_with_and_without_fingerprint() -> None:
    state = {"text": "A,Alpha,100,RUB,1\n", "calls": 0, "rev": 1}

    def fetch() -> Catalog:
        state["calls"] += 1
        if state["text"] == "boom":
            raise ConnectionError("sheet unreachable")
        return catalog_from_csv_text(HEADER + str(state["text"]), "sheet:demo")

    store = CatalogStore(source=fetch, fingerprint=lambda: state["rev"], name="sheet:demo")
    store.load()
    assert store.reload_if_changed() is False and state["calls"] == 1  # fingerprint unchanged
    state.update(text="A,Alpha,150,RUB,1\n", rev=2)
    assert store.reload_if_changed() is True and store.catalog.items[0].price == Decimal("150")
    state.update(text="boom", rev=3)
    assert store.reload_if_changed() is False
    assert store.last_error is not None and "ConnectionError" in str(store.last_error)
    assert store.catalog.items[0].price == Decimal("150")

    polled = CatalogStore(source=fetch)
    state["text"] = "A,Alpha,100,RUB,1\n"
    polled.load()
    assert polled.reload_if_changed() is False  # same version
    state["text"] = "A,Alpha,120,RUB,1\n"
    assert polled.reload_if_changed() is True and polled.name == "fetch"


def test_constructor_needs_exactly_one_source(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        CatalogStore()
    with pytest.raises(ValueError):
        CatalogStore(tmp_path / "x.csv", source=lambda: Catalog())


async def test_watch_detects_change_and_is_cancellable(tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    write(path, "A,Alpha,100,RUB,1\n")
    store = CatalogStore(path)
    store.load()
    task = asyncio.create_task(store.watch(0.01))
    write(path, "A,Alpha,100,RUB,1\nB,Beta,200,RUB,1\n")
    for _ in range(300):
        if store.catalog.get("B") is not None:
            break
        await asyncio.sleep(0.01)
    assert store.catalog.get("B") is not None
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_default_store_registry(tmp_path: Path) -> None:
    set_default_store(None)
    with pytest.raises(RuntimeError):
        get_default_store()
    store = CatalogStore(tmp_path / "c.csv")
    set_default_store(store)
    try:
        assert get_default_store() is store
    finally:
        set_default_store(None)
