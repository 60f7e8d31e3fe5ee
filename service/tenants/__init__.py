"""Tenants: creation and credentials."""
