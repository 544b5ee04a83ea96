"""neuroseller: shared configuration, PII helpers and logging used by every process."""

__version__ = "0.1.0"
