"""Helpers for reading rendered portal pages in tests."""

import re


def text_of(response) -> str:
    """A 200 page as text: whitespace folded, Django's non-breaking spaces made plain."""
    assert response.status_code == 200
    return re.sub(r"\s+", " ", response.content.decode().replace("\xa0", " "))
