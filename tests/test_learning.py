"""Evidence that learns: pairs only from what verified clients chose, a gate that refuses what
wrong selections teach, and a rollback that gives back exactly the answers served before."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from matchgraph.api.cli.main import app
from matchgraph.engine.facade import Matchgraph
from matchgraph.engine.learned import read_state
from matchgraph.engine.learning.gate import decide
from matchgraph.engine.learning.judge import Judgement
from matchgraph.engine.learning.pairs import from_beir, from_evidence, in_holdout, split
from matchgraph.engine.learning.run import learn, rollback
from matchgraph.engine.learning.tune import MARKER
from matchgraph.engine.recommend.resolve import Outcome
from matchgraph.engine.search.relevance import RelevanceModel
from matchgraph.engine.search.searcher import SearchRequest
from matchgraph.engine.settings import Settings, bundled_catalog, bundled_data
from matchgraph.index.embedding.embedder import model_fingerprint
from matchgraph.index.errors import JobRunning

from .conftest import FIXTURE_CATALOG

runner = CliRunner()
QUERY = "transcribe audio to text"


def test_pairs_only_from_verified_clients_once_per_client_and_search(engine: Matchgraph) -> None:
    result = engine.search(SearchRequest(QUERY, limit=5, client_id="ip:10.0.0.1"))
    engine.flush_matches()
    slugs = [h.artifact.artifact.slug for h in result.hits]
    assert len(slugs) >= 3, slugs
    third = result.hits[2]
    # a verified client chooses the third answer, then calls the second helpful: one pair, the first word
    engine.feedback(result.search_id, slugs[2], None, Outcome.selected, client_id="ip:10.0.0.1")
    engine.feedback(result.search_id, slugs[1], None, Outcome.helpful, client_id="ip:10.0.0.1")
    # another verified client chooses the first answer of the same search: a second pair
    engine.feedback(result.search_id, slugs[0], None, Outcome.succeeded, client_id="key:k1")
    # feedback without a verified client (a local command) and negative feedback teach nothing
    engine.feedback(result.search_id, slugs[3] if len(slugs) > 3 else slugs[1], None, Outcome.selected)
    engine.feedback(result.search_id, slugs[1], None, Outcome.not_helpful, client_id="ip:10.0.0.9")
    training = from_evidence(engine.stores)
    assert training.source == "evidence"
    by_positive = {p.positive: p for p in training.pairs}
    assert len(training.pairs) == 2, training.pairs
    chosen = by_positive[third.matches[0].cap_id]
    assert chosen.query == QUERY
    # the hard negatives are the best capabilities of the two answers shown above the chosen one
    assert set(chosen.negatives) == {result.hits[0].matches[0].cap_id, result.hits[1].matches[0].cap_id}
    first = by_positive[result.hits[0].matches[0].cap_id]
    assert first.negatives == ()
    assert training.artifact_of[chosen.positive] == slugs[2]
    assert chosen.positive in training.texts


def test_beir_pairs_and_the_split_by_query(tmp_path: Path) -> None:
    (tmp_path / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in [
        {"_id": "d1", "title": "Speech", "text": "Turn spoken audio into text."},
        {"_id": "d2", "title": "Images", "text": "Draw pictures from a prompt."},
    ]))
    (tmp_path / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in [
        {"_id": "q1", "text": "transcribe a podcast"}, {"_id": "q2", "text": "make a logo"},
    ]))
    (tmp_path / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\nq2\tmissing\t1\n")
    training = from_beir(tmp_path / "corpus.jsonl", tmp_path / "queries.jsonl", tmp_path / "qrels.tsv")
    assert [(p.query, training.artifact_of[p.positive]) for p in training.pairs] == [
        ("transcribe a podcast", "doc-d1"), ("make a logo", "doc-d2")]
    assert training.skipped == 1 and len(training.artifacts) == 2
    many = training.subset([p for p in training.pairs for _ in range(3)])
    train, held = split(many, 0.5)
    assert {p.query for p in train.pairs}.isdisjoint({p.query for p in held.pairs})
    assert len(train.pairs) + len(held.pairs) == 6
    assert in_holdout("Make a logo", 0.5) == in_holdout("make  a LOGO", 0.5)  # by the normalised need
    (tmp_path / "empty.tsv").write_text("query-id\tcorpus-id\tscore\n")
    with pytest.raises(ValueError, match="no judgements"):
        from_beir(tmp_path / "corpus.jsonl", tmp_path / "queries.jsonl", tmp_path / "empty.tsv")


def _judgement(values: list[float]) -> Judgement:
    per = {f"q{i}": v for i, v in enumerate(values)}
    return Judgement(float(np.mean(values)), float(np.mean(values)), per)


def test_gate_passes_a_reliable_gain_and_refuses_noise_or_forgetting() -> None:
    rng = np.random.default_rng(3)
    live = rng.uniform(0.2, 0.6, 60)
    better = _judgement(list(live + rng.uniform(0.02, 0.1, 60)))
    noisy = _judgement(list(live + rng.normal(0.0, 0.2, 60)))
    guard_live, guard_same = _judgement([0.7] * 10), _judgement([0.695] * 10)
    guard_worse = _judgement([0.66] * 10)
    assert decide(_judgement(list(live)), better, guard_live, guard_same, 0.005, 0.01).passed
    refused = decide(_judgement(list(live)), noisy, None, None, 0.005, 0.01)
    assert not refused.passed and ("reliable" in refused.why or "under" in refused.why)
    forgot = decide(_judgement(list(live)), better, guard_live, guard_worse, 0.005, 0.01)
    assert not forgot.passed and "guard" in forgot.why and forgot.forgetting == pytest.approx(0.04)


def _learning_settings(tmp_path: Path, **extra: object) -> Settings:
    # torch: a fine-tuned model needs no ONNX/OpenVINO export here (that path is the embedder's own)
    return Settings(data_dir=tmp_path / "state", writer_flush_seconds=0.05, embed_backend="torch",
                    learn_batch_size=8, **extra)


def _answers(mg: Matchgraph, needs: list[str]) -> list[list[tuple[str, float]]]:
    results = mg.search_many([SearchRequest(n, limit=10, record=False) for n in needs])
    return [[(h.artifact.artifact.slug, h.score) for h in r.hits] for r in results]


def _catalog_needs(mg: Matchgraph, per_capability: int = 1) -> list[tuple[str, str]]:
    """(need, artifact slug) from the catalog's own capability intents."""
    needs = []
    for artifact in mg.stores.catalog.iter_artifacts():
        for cap in artifact.capabilities:
            needs += [(i, artifact.slug) for i in cap.intents[:per_capability]]
    return needs


@pytest.mark.slow
def test_the_gate_refuses_what_random_selections_teach(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    for path in sorted(bundled_catalog().rglob("*.yaml"))[:30]:
        shutil.copy(path, catalog / path.name)
    settings = _learning_settings(tmp_path, learn_min_pairs=20, learn_holdout=0.3)
    with Matchgraph(settings) as mg:
        mg.ingest([catalog])
        mg.index()
        needs = _catalog_needs(mg)[:70]
        assert len(needs) >= 50
        before = _answers(mg, [n for n, _ in needs[:8]])
        rng = random.Random(11)
        for i, (need, _right) in enumerate(needs):
            result = mg.search(SearchRequest(need, limit=10, client_id=f"ip:10.1.0.{i}"))
            wrong = rng.choice(result.hits)  # a random answer, right or not
            mg.feedback(result.search_id, wrong.artifact.artifact.slug, None, Outcome.selected,
                        client_id=f"ip:10.1.0.{i}")
        decision = learn(mg)
        assert decision["pairs"] == len(needs)
        assert set(decision["candidates"]) == {"ranker", "embedder", "embedder+ranker"}
        assert not decision["swapped"], decision["why"]
        assert all(not c["passed"] for c in decision["candidates"].values())
        assert decision["why"].startswith("no candidate passed the gate")
        assert read_state(settings.data_dir).active.empty
        assert _answers(mg, [n for n, _ in needs[:8]]) == before
    # the refused candidates leave nothing behind but the record
    assert not any((settings.data_dir / "learning" / "models").glob("*"))
    assert len(read_state(settings.data_dir).decisions) == 1


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["embedder", "ranker"])
def test_a_swap_serves_new_models_and_rollback_restores_answers_exactly(tmp_path: Path, kind: str) -> None:
    settings = _learning_settings(tmp_path, learn_min_pairs=4, learn_holdout=0.3)
    with Matchgraph(settings) as mg:
        mg.ingest([FIXTURE_CATALOG])
        mg.index()
        needs = _catalog_needs(mg, per_capability=3)
        assert len(needs) >= 8
        probe = [n for n, _ in needs] + ["run a model on my laptop", "vector database"]
        before = _answers(mg, probe)
        base_fingerprint = mg.embedder.fingerprint
        for i, (need, right) in enumerate(needs):
            result = mg.search(SearchRequest(need, limit=5, client_id=f"key:k{i}"))
            mg.feedback(result.search_id, right, None, Outcome.selected, client_id=f"key:k{i}")
        # swapped whatever the gate says: this tests the swap itself
        decision = learn(mg, embedder=kind == "embedder", ranker=kind == "ranker", force=True)
        assert decision["swapped"] and decision["chosen"] == kind, decision
        active = read_state(settings.data_dir).active
        assert active.candidate == decision["candidate"]
        if kind == "ranker":
            assert active.model_dir is None and mg.relevance_model_path() == Path(str(active.ranker))
            assert mg.searcher.model.weights != RelevanceModel.load(bundled_data() / "relevance.json").weights
        else:
            model_dir = Path(str(active.model_dir))
            assert (model_dir / MARKER).is_file() and mg.model_path() == model_dir
            # its own fingerprint, so the index built with the base model is never mixed with it
            assert mg.embedder.fingerprint == model_fingerprint(model_dir) != base_fingerprint
            assert mg.served.current()[0].manifest.model_fingerprint == mg.embedder.fingerprint
        learned = _answers(mg, probe)
        with Matchgraph(settings) as fresh:  # another process sees the swap too
            assert fresh.model_path() == mg.model_path()
            assert _answers(fresh, probe) == learned
        back = rollback(mg)
        assert back["rollback"] and read_state(settings.data_dir).active.empty
        assert mg.embedder.fingerprint == base_fingerprint
        assert _answers(mg, probe) == before
        with pytest.raises(ValueError, match="nothing to roll back"):
            rollback(mg)
    with Matchgraph(settings) as fresh:
        assert _answers(fresh, probe) == before
    decisions = read_state(settings.data_dir).decisions
    assert [d.get("rollback", False) for d in decisions] == [False, True]
    assert decisions[0]["forced"] == (not decisions[0]["candidates"][decisions[0]["chosen"]]["passed"])


def test_learn_with_too_few_pairs_records_why_and_changes_nothing(engine: Matchgraph) -> None:
    decision = learn(engine, embedder=False)
    assert decision["pairs"] == 0 and not decision["swapped"] and "fewer than" in decision["why"]
    assert read_state(engine.settings.data_dir).decisions[-1]["candidate"] == decision["candidate"]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MATCHGRAPH_DATA_DIR", str(tmp_path / "state"))
    return tmp_path


def test_cli_learn_status_and_bad_input(env: Path) -> None:
    r = runner.invoke(app, ["learn", "--status"])
    assert r.exit_code == 0 and "configured model" in r.output, r.output
    r = runner.invoke(app, ["learn", "--train-corpus", str(env / "c.jsonl")])
    assert r.exit_code == 2 and "--train-queries" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["learn", "--rollback"])
    assert r.exit_code == 2 and "nothing to roll back" in r.output, r.output
    r = runner.invoke(app, ["learn", "--train-corpus", str(env / "c.jsonl"), "--train-queries",
                            str(env / "q.jsonl"), "--train-qrels", str(env / "r.tsv")])
    assert r.exit_code == 2 and "no such file" in r.output and "Traceback" not in r.output
    (env / "state" / "learning").mkdir(parents=True, exist_ok=True)
    (env / "state" / "learning" / "state.json").write_text("{not json")
    r = runner.invoke(app, ["learn", "--status"])
    assert r.exit_code == 2 and "damaged" in r.output, r.output


def test_the_background_learner_skips_a_run_while_another_holds_the_lock(engine: Matchgraph) -> None:
    from matchgraph.api.app import learn_quietly
    from matchgraph.engine.learned import learning_dir
    from matchgraph.index.lock import JobLock

    with JobLock(learning_dir(engine.settings.data_dir)):
        assert learn_quietly(engine) is None
        with pytest.raises(JobRunning, match="learning run"):
            learn(engine, embedder=False)
    assert read_state(engine.settings.data_dir).decisions == []
    assert learn_quietly(engine) is not None  # free again: it runs (and records why it trained nothing)
    assert len(read_state(engine.settings.data_dir).decisions) == 1


def test_cli_learns_from_a_beir_set_then_rolls_back(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATCHGRAPH_CATALOG_DIR", str(FIXTURE_CATALOG))
    monkeypatch.setenv("MATCHGRAPH_LEARN_MIN_PAIRS", "2")
    monkeypatch.setenv("MATCHGRAPH_LEARN_HOLDOUT", "0.4")
    docs = {"d0": "Turn spoken audio into text.", "d1": "Draw pictures from a prompt.",
            "d2": "Store embeddings and search nearest neighbours."}
    needs = [("transcribe a podcast", "d0"), ("speech to text", "d0"), ("make a logo", "d1"),
             ("generate an image", "d1"), ("vector search", "d2"),
             ("similarity search over embeddings", "d2")]
    corpus = [{"_id": k, "title": "", "text": v} for k, v in docs.items()]
    (env / "c.jsonl").write_text("\n".join(json.dumps(d) for d in corpus))
    queries = [{"_id": f"q{i}", "text": t} for i, (t, _) in enumerate(needs)]
    (env / "q.jsonl").write_text("\n".join(json.dumps(q) for q in queries))
    (env / "r.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(
        f"q{i}\t{d}\t1\n" for i, (_, d) in enumerate(needs)))
    args = ["learn", "--train-corpus", str(env / "c.jsonl"), "--train-queries", str(env / "q.jsonl"),
            "--train-qrels", str(env / "r.tsv"), "--no-embedder", "--force", "--json"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    decision = json.loads(r.stdout)
    assert decision["source"] == "beir" and decision["pairs"] == 6 and decision["swapped"]
    assert decision["chosen"] == "ranker" and decision["forced"] != decision["candidates"]["ranker"]["passed"]
    r = runner.invoke(app, ["learn", "--status"])
    assert r.exit_code == 0 and f"serving candidate {decision['candidate']}" in r.output, r.output
    r = runner.invoke(app, ["learn", "--rollback"])
    assert r.exit_code == 0 and "rolled back to the configured models" in r.output, r.output
    r = runner.invoke(app, ["learn", "--status"])
    assert "serving the configured model" in r.output
