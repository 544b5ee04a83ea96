"""The reader: what a customer's message means (intents) and what it names (contacts, numbers)."""

from activities.brain.reader.reading import Reading, read

__all__ = ["Reading", "read"]
