"""Shared fixtures: the real bundled model (loaded once per session), real SQLite files
and real FAISS indexes in temporary folders."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from matchgraph.engine.facade import Matchgraph
from matchgraph.engine.settings import Settings

from .pg import pg_url, postgres_server  # noqa: F401 - fixtures for the postgres tests

# The fixture catalog is five artifacts, there to test the machinery (grouping, filters, paging,
# recording) on every result the retrievers find: its searches run with the relevance floor off.
# Judgement (the floor, kinds, names, confidence) is tested on the bundled catalog, with the
# fitted model and its floor, in test_relevance.py.
os.environ["MATCHGRAPH_RELEVANCE_FLOOR"] = "0"
# The judgement tests' thresholds were fitted on openvino-int8's vectors; which backend `auto`
# picks depends on the machine's timings, so the tests name one (`auto` has its own tests).
os.environ.setdefault("MATCHGRAPH_EMBED_BACKEND", "openvino-int8")

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_CATALOG = FIXTURES / "catalog"
PROJECT = Path(__file__).resolve().parent.parent
SHARED_DATA = PROJECT.parent / "shared" / "data"


def needs_shared(*parts: str) -> pytest.MarkDecorator:
    path = SHARED_DATA.joinpath(*parts)
    return pytest.mark.skipif(not path.exists(), reason=f"{path} is absent (no ../shared here)")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for an empty state directory; matches are flushed quickly."""
    return Settings(data_dir=tmp_path / "state", writer_flush_seconds=0.05)


@pytest.fixture(scope="session")
def indexed_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state directory with the fixture catalog ingested and indexed (built once)."""
    state = tmp_path_factory.mktemp("indexed") / "state"
    with Matchgraph(Settings(data_dir=state), record=False) as mg:
        mg.ingest([FIXTURE_CATALOG])
        mg.index()
    return state


@pytest.fixture
def indexed_settings(indexed_state: Path, tmp_path: Path) -> Settings:
    """A private copy of the indexed state, so tests can record matches freely."""
    state = tmp_path / "state"
    shutil.copytree(indexed_state, state)
    return Settings(data_dir=state, writer_flush_seconds=0.05)


def publish_a_second_vecstore(settings: Settings, work: Path, server: Matchgraph) -> None:
    """Another job ingests a copy of vecstore as ``vecstore-two`` and publishes a new index
    version; ``server`` looks for it at its next search, without the poll interval."""
    extra = work / "extra"
    shutil.copytree(FIXTURE_CATALOG, extra)
    text = (extra / "vecstore.yaml").read_text().replace("slug: vecstore", "slug: vecstore-two")
    (extra / "vecstore-two.yaml").write_text(text)
    with Matchgraph(settings, record=False) as job:
        job.ingest([extra])
        job.index()
    server.refresh()


@pytest.fixture
def engine(indexed_settings: Settings) -> Iterator[Matchgraph]:
    with Matchgraph(indexed_settings) as mg:
        yield mg
