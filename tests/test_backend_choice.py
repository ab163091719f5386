"""`auto`: the embedding backend is chosen by timing the candidates on this machine."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from matchgraph.api.cli.main import app
from matchgraph.engine.settings import Settings
from matchgraph.index.embedding.choice import (
    CANDIDATES,
    MIN_MEAN_COSINE,
    BackendChoice,
    Timing,
    choose_backend,
    pick,
    read_choice,
    record_path,
    resolve_backend,
    signature,
)
from matchgraph.index.embedding.embedder import load_embedder, model_fingerprint


def timing(name: str, query_ms: float, long_per_s: float, eligible: bool = True) -> Timing:
    return Timing(name, query_ms, long_per_s, 1.0 if eligible else 0.9, None, eligible)


def test_the_fastest_backend_that_passes_the_gate_is_picked() -> None:
    timings = [timing("torch", 10, 10), timing("onnx", 5, 11), timing("openvino", 4, 20),
               timing("onnx-int8", 1, 50, eligible=False)]
    assert pick(timings) == "openvino"  # onnx-int8 is faster but its vectors failed the gate
    assert timings[1].reason == "slower than the one used"


def test_a_backend_slower_than_torch_on_either_kind_of_text_is_not_picked() -> None:
    # as measured on an AVX2-only CPU: int8 was quicker per query but slower on long texts
    assert pick([timing("torch", 10, 12.6), timing("openvino-int8", 9, 12.0)]) == "torch"
    assert pick([timing("torch", 10, 10), timing("onnx", 11, 30)]) == "torch"


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> tuple[BackendChoice, Path]:
    """One real measurement on this machine, recorded in a private folder."""
    ix = Settings().index
    records = tmp_path_factory.mktemp("records")
    choice = choose_backend(ix.model_path(), ix.resolved_cache_dir(), ix.max_tokens, bundled=True,
                            record_dir=records)
    return choice, records


def test_auto_times_every_candidate_and_records_why(measured: tuple[BackendChoice, Path]) -> None:
    choice, records = measured
    assert [t.backend for t in choice.timings] == list(CANDIDATES)
    by_name = {t.backend: t for t in choice.timings}
    timed = [t for t in choice.timings if t.backend != "onnx-int8"]
    assert all(t.query_ms and t.long_per_s for t in timed), choice.timings
    # its SciFact figure on record is under the gate: not worth an export at first start
    assert "not timed" in next(t.reason for t in choice.timings if t.backend == "onnx-int8")
    assert by_name["torch"].mean_cosine == pytest.approx(1.0, abs=1e-5)
    assert by_name[choice.backend].eligible
    assert by_name[choice.backend].mean_cosine >= MIN_MEAN_COSINE
    assert choice.backend == pick(choice.timings)
    # anything faster on short queries than the one used says why it was not used
    for t in choice.timings:
        if t.backend != choice.backend:
            assert t.reason
    ix = Settings().index
    path = record_path(records, model_fingerprint(ix.model_path()), ix.max_tokens)
    assert json.loads(path.read_text())["backend"] == choice.backend


def test_the_record_is_read_again_and_kept_to_its_machine(measured: tuple[BackendChoice, Path]) -> None:
    choice, records = measured
    ix = Settings().index
    again = choose_backend(ix.model_path(), ix.resolved_cache_dir(), ix.max_tokens, bundled=True,
                           record_dir=records)
    assert again.measured_at == choice.measured_at  # read, not measured again
    path = record_path(records, model_fingerprint(ix.model_path()), ix.max_tokens)
    other_cpu = {**signature(model_fingerprint(ix.model_path()), ix.max_tokens), "features": ["avx2"]}
    assert read_choice(path, other_cpu) is None  # another CPU measures for itself
    broken = path.with_name("broken.json")
    broken.write_text(path.read_text()[:-20])  # cut short, as by a crash mid-write
    assert read_choice(broken, choice.signature) is None


def test_auto_loads_the_backend_it_chose(measured: tuple[BackendChoice, Path], tmp_path: Path) -> None:
    choice, records = measured
    ix = Settings().index
    # the recorded choice, put where the model cache keeps it
    cache = tmp_path / "cache"
    cache.mkdir()
    for folder in ix.resolved_cache_dir().iterdir():  # reuse the exported models
        if folder.is_dir():
            os.symlink(folder, cache / folder.name)
    path = record_path(records, model_fingerprint(ix.model_path()), ix.max_tokens)
    (cache / path.name).write_text(path.read_text())
    backend = resolve_backend("auto", ix.model_path(), cache, ix.max_tokens, bundled=True)
    assert backend == choice.backend
    assert load_embedder(ix.model_path(), 16, backend, cache, ix.max_tokens).backend_name == backend
    assert resolve_backend("onnx", ix.model_path(), cache, ix.max_tokens, bundled=True) == "onnx"


def test_doctor_prints_the_cpu_and_the_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATCHGRAPH_EMBED_BACKEND", "torch")
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    assert "CPU:" in result.output and "MATCHGRAPH_EMBED_BACKEND=torch" in result.output
    assert "set by hand" in result.output
