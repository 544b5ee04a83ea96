"""The live catalog of a worker process: load once, hot-reload on change, never serve a broken one.

A shop owner edits the CSV (or the Google Sheet) while dialogues run. A broken edit must not take
prices away from the bot: the store keeps the last good catalog, records `last_error` and logs
every issue with file:line:column so the owner can fix it; the next good edit is picked up.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections.abc import Callable, Hashable
from pathlib import Path

from catalog.loader import load_csv
from catalog.schema import Catalog, CatalogError, CatalogIssue

log = logging.getLogger(__name__)

Source = Callable[[], Catalog]
Fingerprint = Callable[[], Hashable]


class CatalogStore:
    """Holds the current good `Catalog` and swaps in new versions atomically.

    CSV is the easy case: `CatalogStore(path)`. Any other source plugs in as
    `CatalogStore(source=fetch, fingerprint=cheap_change_marker, name="sheet:...")`: `source()`
    returns a validated Catalog or raises `CatalogError`; `fingerprint()` (optional) is a cheap
    marker (e.g. a sheet's modified time) — when it is unchanged the source is not called at all.
    Without a fingerprint every poll calls the source and compares `Catalog.version`.
    """

    def __init__(
        self,
        path: Path | str | None = None,
        *,
        source: Source | None = None,
        fingerprint: Fingerprint | None = None,
        name: str | None = None,
    ) -> None:
        if (path is None) == (source is None):
            raise ValueError("CatalogStore needs exactly one of `path` or `source`")
        self.path = Path(path) if path is not None else None
        if self.path is not None:
            csv_path = self.path
            self._source: Source = lambda: load_csv(csv_path)
            self._fingerprint: Fingerprint | None = self._file_fingerprint
        else:
            assert source is not None
            self._source, self._fingerprint = source, fingerprint
        default_name = str(self.path) if self.path is not None else getattr(source, "__name__", "source")
        self.name = name or default_name
        self._catalog: Catalog | None = None
        self._seen: Hashable | None = None
        self._stat: tuple[int, int, int] | None = None
        self._hash = ""
        self.last_error: CatalogError | None = None

    def _file_fingerprint(self) -> Hashable:
        """Content hash, recomputed only when mtime/size/inode moved: a `touch` is not a change."""
        assert self.path is not None
        stat = os.stat(self.path)
        marker = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if marker != self._stat:
            self._stat, self._hash = marker, hashlib.sha256(self.path.read_bytes()).hexdigest()[:12]
        return self._hash

    @property
    def catalog(self) -> Catalog:
        """The last good catalog; CatalogError if none was ever loaded."""
        if self._catalog is None:
            raise self.last_error or CatalogError(
                [CatalogIssue(source=self.name, line=0, column="-", reason="catalog not loaded yet")])
        return self._catalog

    @property
    def loaded(self) -> bool:
        return self._catalog is not None

    def load(self) -> Catalog:
        """Load now (startup); raises CatalogError so a misconfigured shop fails loudly at boot."""
        try:
            marker = self._fingerprint() if self._fingerprint else None
        except OSError:
            marker = None  # the source reports the precise problem below
        try:
            catalog = self._source()
        except CatalogError as exc:
            self.last_error = exc
            raise
        self._swap(catalog, marker)
        return catalog

    def reload_if_changed(self) -> bool:
        """Reload when the source changed; True if a new version is now served. Never raises."""
        marker: Hashable | None = None
        try:
            marker = self._fingerprint() if self._fingerprint else None
            if marker is not None and marker == self._seen:
                return False
            catalog = self._source()
        except Exception as exc:  # noqa: BLE001 - a poller must survive anything the source throws
            error = exc if isinstance(exc, CatalogError) else CatalogError(
                [CatalogIssue(source=self.name, line=0, column="-", reason=f"{type(exc).__name__}: {exc}")])
            self._fail(error, marker)
            return False
        if self._catalog is not None and catalog.version == self._catalog.version:
            self._seen, self.last_error = marker, None
            return False
        self._swap(catalog, marker)
        return True

    def _swap(self, catalog: Catalog, marker: Hashable | None) -> None:
        previous = self._catalog.version if self._catalog else None
        self._catalog, self._seen, self.last_error = catalog, marker, None
        log.info("catalog %s: serving version %s (%d items, was %s)",
                 self.name, catalog.version, len(catalog), previous)

    def _fail(self, error: CatalogError, marker: Hashable | None) -> None:
        repeated = self.last_error is not None and str(self.last_error) == str(error)
        self.last_error = error
        self._seen = marker  # don't re-parse the same broken content every poll
        if repeated:  # nor log the same problem again
            return
        serving = self._catalog.version if self._catalog else "nothing"
        log.error("catalog %s rejected, still serving version %s: %d issue(s):\n%s", self.name, serving,
                  len(error.issues), "\n".join(f"  {issue}" for issue in error.issues))

    async def watch(self, interval: float = 5.0) -> None:
        """Poll forever (cancel the task to stop); loads run in a thread so a slow source won't block."""
        while True:
            await asyncio.sleep(interval)
            await asyncio.to_thread(self.reload_if_changed)


_default: CatalogStore | None = None


def set_default_store(store: CatalogStore | None) -> None:
    """Register the process-wide store that Temporal activities in this worker read."""
    global _default
    _default = store


def get_default_store() -> CatalogStore:
    """The registered store; RuntimeError if the worker did not set one up."""
    if _default is None:
        raise RuntimeError("no catalog store registered: call catalog.store.set_default_store() at startup")
    return _default
