"""Writes of the accounts app, one module per sub-domain: companies, users, groups."""
