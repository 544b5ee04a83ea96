"""The catalog: the only source of prices, stock and promotions."""
