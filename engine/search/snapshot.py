"""What the engine serves beside one index version: the catalog facts filters and grouping
need (made when the version is loaded), and the content space of its vectors (made on
first use, for comparisons, alternatives and the graph's edge kinds)."""

from __future__ import annotations

from functools import cached_property

from matchgraph.engine.search.content import ContentSpace
from matchgraph.engine.search.filters import Facets
from matchgraph.index.versions import IndexVersion


class Snapshot:
    def __init__(self, version: IndexVersion, facets: Facets):
        self.version = version
        self.facets = facets

    @cached_property
    def content(self) -> ContentSpace:
        return ContentSpace(self.version, self.facets)
