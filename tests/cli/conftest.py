from __future__ import annotations

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def english():
    """Assertions read English messages; `rapport.cli` would pick the language from LANG."""
    with translation.override("en"):
        yield
