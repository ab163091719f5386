"""What the engine serves beside one index version: the catalog facts filters and grouping
need (made when the version is loaded), the reader of needs (names, kinds, synonyms) and the
content space of its vectors (both made on first use)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property

from matchgraph.engine.catalog.models import Artifact
from matchgraph.engine.search.content import ContentSpace
from matchgraph.engine.search.filters import Facets
from matchgraph.engine.search.understanding import NeedReader
from matchgraph.index.versions import IndexVersion


class Snapshot:
    def __init__(self, version: IndexVersion, facets: Facets,
                 artifacts: Callable[[], Mapping[int, Artifact]]):
        """``artifacts`` reads the catalog (row id -> artifact) when the need reader is first built."""
        self.version = version
        self.facets = facets
        self._artifacts = artifacts

    @cached_property
    def reader(self) -> NeedReader:
        return NeedReader.build(self._artifacts())

    @cached_property
    def content(self) -> ContentSpace:
        return ContentSpace(self.version, self.facets)
