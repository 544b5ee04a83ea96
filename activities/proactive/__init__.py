"""Proactive selling: the no-spam planner (local activity), reaching many leads (campaigns, catalog triggers)."""
