"""Process entry points: worker, channel gateways, embedded dev server, CLI."""
