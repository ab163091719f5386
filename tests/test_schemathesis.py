"""Property-based API tests from the app's own OpenAPI schema: no 5xx, no schema violations."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from matchgraph.api.app import create_app
from matchgraph.engine.facade import Matchgraph
from matchgraph.engine.settings import Settings


@pytest.fixture(scope="module")
def api_schema(indexed_state: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    state = tmp_path_factory.mktemp("fuzz") / "state"
    shutil.copytree(indexed_state, state)
    config = Settings(data_dir=state, anon_rate_per_minute=0, writer_flush_seconds=0.05)
    engine = Matchgraph(config)
    engine.rank()
    app = create_app(config, mg=engine, prepare=False)
    app.state.matchgraph = engine  # schemathesis calls the app without running its lifespan
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    engine.close()


def operations(schema: object) -> list[object]:
    return [result.ok() for result in schema.get_all_operations()]  # type: ignore[attr-defined]


def test_api_never_errors_and_keeps_its_schema(api_schema: object) -> None:
    """Every operation, ~30 generated requests each (valid and invalid): no 5xx, answers match
    the documented schema, status codes and content types, and invalid input is refused.
    (schemathesis' own pytest plugin does not load under pytest 9, so the operations are
    driven here with Hypothesis.)"""
    ops = operations(api_schema)
    assert len(ops) >= 10
    failures: list[str] = []
    for operation in ops:
        @given(case=operation.as_strategy())  # type: ignore[attr-defined]
        @settings(max_examples=30, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case: schemathesis.Case) -> None:
            # Queries are also checked beyond what a schema can say (text after trimming,
            # control characters), so a schema-valid query may still get a 422 with a reason.
            case.call_and_validate(excluded_checks=[checks.positive_data_acceptance])

        try:
            run()
        except Exception as exc:  # collect every failing operation, then fail once
            failures.append(f"{operation.label}: {exc}"[:2000])  # type: ignore[attr-defined]
    assert failures == [], "\n\n".join(failures)
