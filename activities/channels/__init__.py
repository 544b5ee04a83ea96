"""Channels: one folder per messenger or call transport, holding what must run where the connection lives."""
