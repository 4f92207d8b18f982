"""Reads of the integrations app, one module per sub-domain: keys, activity, health, dashboard."""
