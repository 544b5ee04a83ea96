"""Activities: I/O the lead workflow delegates (model calls, guard, catalog, sends, CRM).

Kept import-light on purpose: workflow modules import from here through the sandbox, and vendor
SDKs (openai, ollama) load only where a worker actually builds a model.
"""
