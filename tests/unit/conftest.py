"""The unit tests' place resolver, built once from the knowledge base."""

from __future__ import annotations

import pytest

from actions.countries import PlaceResolver, resolver_for
from content.knowledge import KnowledgeBase


@pytest.fixture(scope="session")
def places(knowledge: KnowledgeBase) -> PlaceResolver:
    return resolver_for(knowledge)
