"""Telegram: the send activity (runs in the gateway that owns the connection) and its PostgreSQL store."""
