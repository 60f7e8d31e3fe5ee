"""Dealsight web service: ingestion, jobs, storage and the HTTP API."""
