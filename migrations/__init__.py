"""Alembic migrations; run them with `dealsight db upgrade`."""
