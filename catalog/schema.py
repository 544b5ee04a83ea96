"""Catalog items and the in-memory catalog the facts guard and search read.

A `Catalog` is immutable once built; reloads build a new one and swap it in, so a reply never
sees half a catalog.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

T = TypeVar("T")


class Item(BaseModel):
    """One catalog row. Money is `Decimal` so a guard comparison is exact."""

    model_config = ConfigDict(frozen=True)

    sku: str
    name: str
    price: Decimal
    currency: str = "RUB"
    stock: int = 0
    aliases: tuple[str, ...] = ()
    category: str = ""
    description: str = ""
    promo_price: Decimal | None = None
    upsell: tuple[str, ...] = ()

    @property
    def effective_price(self) -> Decimal:
        """The price a customer pays now: the promo price when one is set."""
        return self.promo_price if self.promo_price is not None else self.price

    @property
    def in_stock(self) -> bool:
        return self.stock > 0


class CatalogIssue(BaseModel):
    """One validation problem, located precisely enough for a shop owner to fix it."""

    source: str
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        if self.line <= 0:  # the file as a whole (not found, not UTF-8, empty)
            return f"{self.source}: {self.reason}"
        if self.column in ("", "-"):  # a whole row (cell count, broken quoting)
            return f"{self.source}:{self.line}: {self.reason}"
        return f"{self.source}:{self.line}: column '{self.column}': {self.reason}"


class CatalogError(ValueError):
    """A catalog that cannot be used; carries every issue found, not just the first."""

    def __init__(self, issues: list[CatalogIssue]):
        self.issues = issues
        super().__init__("; ".join(str(i) for i in issues[:20]) +
                         (f" (+{len(issues) - 20} more)" if len(issues) > 20 else ""))


class Catalog(BaseModel):
    """A validated set of items with a version (content hash) for logs and histories."""

    model_config = ConfigDict(frozen=True)

    items: tuple[Item, ...] = ()
    version: str = ""
    source: str = ""
    by_sku: dict[str, Item] = Field(default_factory=dict, exclude=True)
    _memo: dict[str, Any] = PrivateAttr(default_factory=dict)

    def model_post_init(self, __context: object) -> None:
        if not self.by_sku:
            object.__setattr__(self, "by_sku", {i.sku.upper(): i for i in self.items})

    def memo(self, key: str, build: Callable[[], T]) -> T:
        """Something derived from this catalog, built once: the catalog is immutable and a reload is a new one."""
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]

    def get(self, sku: str) -> Item | None:
        return self.by_sku.get(sku.strip().upper())

    def __len__(self) -> int:
        return len(self.items)
