"""Query parameters the pages share: filter labels from <select> forms, and times."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

Label = Annotated[str | None, Query(max_length=255)]
When = Annotated[str | None, Query(max_length=40)]


def blank(value: str | None) -> str | None:
    """A form's empty option means "any"."""
    return value if value else None
