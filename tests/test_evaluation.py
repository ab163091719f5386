from __future__ import annotations

import json
from pathlib import Path

import pytest

from matchgraph.engine.errors import MatchgraphError
from matchgraph.engine.evaluation.beir import (
    apibench_to_beir,
    evaluate_beir,
    mrr_at,
    ndcg_at,
    read_qrels,
    recall_at,
)
from matchgraph.engine.settings import Settings

from .conftest import SHARED_DATA, needs_shared


def test_metrics_on_a_hand_worked_example() -> None:
    rels = {"a": 1, "b": 1}
    assert ndcg_at(["a", "b", "c"], rels, 10) == pytest.approx(1.0)
    # relevant at ranks 2 and 3: (1/log2(3) + 1/log2(4)) / (1 + 1/log2(3))
    assert ndcg_at(["x", "a", "b"], rels, 10) == pytest.approx((0.63093 + 0.5) / 1.63093, abs=1e-4)
    assert recall_at(["x", "a"], rels, 10) == 0.5
    assert mrr_at(["x", "y", "b"], rels, 10) == pytest.approx(1 / 3)
    assert mrr_at(["x"] * 10 + ["a"], rels, 10) == 0.0


def write_beir(folder: Path) -> tuple[Path, Path, Path]:
    docs = [
        ("d1", "Volcanoes", "Magma rises through the crust and erupts as lava and ash."),
        ("d2", "Photosynthesis", "Plants turn sunlight, water and carbon dioxide into sugar."),
        ("d3", "Tides", "The moon's gravity pulls the oceans, raising and lowering sea level."),
        ("d4", "Vaccines", "A weakened pathogen trains the immune system to respond quickly."),
    ]
    corpus = folder / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"_id": i, "title": t, "text": x}) + "\n" for i, t, x in docs))
    queries = folder / "queries.jsonl"
    qs = [("q1", "how do plants make sugar from light"), ("q2", "why does the sea level change"),
          ("q3", "what comes out of an erupting volcano"), ("q9", "unjudged query")]
    queries.write_text("".join(json.dumps({"_id": i, "text": t}) + "\n" for i, t in qs))
    qrels = folder / "qrels.tsv"
    qrels.write_text("query-id\tcorpus-id\tscore\nq1\td2\t1\nq2\td3\t1\nq3\td1\t1\n")
    return corpus, queries, qrels


def test_eval_runs_every_mode_through_the_search_path(tmp_path: Path) -> None:
    corpus, queries, qrels = write_beir(tmp_path)
    report = evaluate_beir(corpus, queries, qrels, ["dense", "lexical", "hybrid"],
                           Settings(data_dir=tmp_path / "unused"), state_dir=tmp_path)
    assert report["documents"] == 4 and report["queries"] == 3
    assert report["modes"]["dense"]["ndcg@10"] == pytest.approx(1.0)
    assert report["modes"]["hybrid"]["mrr@10"] == pytest.approx(1.0)
    assert 0 < report["modes"]["lexical"]["recall@100"] <= 1.0
    assert not (tmp_path / "unused").exists()  # the throwaway state is not the configured one
    assert [p for p in tmp_path.iterdir() if p.name.startswith("matchgraph-eval-")] == []


def test_a_floor_fitted_on_a_training_split_keeps_the_relevant_documents(tmp_path: Path) -> None:
    """With only servable queries to learn from, the fitted floor sits under the relevant
    documents' probabilities: a floor taken from another catalog (here 0.9) would cut them."""
    corpus, queries, qrels = write_beir(tmp_path)
    with queries.open("a") as fh:
        for qid, text in (("t1", "lava and ash from a mountain"), ("t2", "sugar made by green leaves"),
                          ("t3", "the moon moves the oceans"), ("t4", "train the immune system")):
            fh.write(json.dumps({"_id": qid, "text": text}) + "\n")
    train = tmp_path / "train.tsv"
    train.write_text("query-id\tcorpus-id\tscore\nt1\td1\t1\nt2\td2\t1\nt3\td3\t1\nt4\td4\t1\nq1\td2\t1\n")
    strict = Settings(data_dir=tmp_path / "unused", relevance_floor=0.9)
    cut = evaluate_beir(corpus, queries, qrels, ["hybrid"], strict, state_dir=tmp_path)
    fitted = evaluate_beir(corpus, queries, qrels, ["hybrid"], Settings(data_dir=tmp_path / "unused"),
                           state_dir=tmp_path, fit_qrels=train)
    assert cut["modes"]["hybrid"]["recall@100"] < 1.0
    assert fitted["modes"]["hybrid"]["recall@100"] == pytest.approx(1.0)
    assert fitted["fit"]["samples"] > 0 and fitted["fit"]["floor"] < 0.9
    missing = tmp_path / "nothing.tsv"
    missing.write_text("query-id\tcorpus-id\tscore\nzz\td1\t1\n")
    with pytest.raises(MatchgraphError, match="no judged query"):
        evaluate_beir(corpus, queries, qrels, ["hybrid"], Settings(data_dir=tmp_path / "unused"),
                      state_dir=tmp_path, fit_qrels=missing)


def test_apibench_adapter_on_a_small_fixture(tmp_path: Path) -> None:
    api = tmp_path / "matchgraph.api.jsonl"
    api.write_text(
        json.dumps({"api_name": "resnet", "domain": "Image classification", "functionality": "Classify",
                    "description": "Labels photos.", "api_call": "load('resnet')"}) + "\n"
        + json.dumps({"api_name": "bert", "domain": "Text", "functionality": "Embed",
                      "description": "Embeds text.", "api_call": "load('bert')"}) + "\n"
    )
    ev = tmp_path / "eval.json"
    ev.write_text(
        json.dumps({"code": "###Instruction: label my cat photos\n###Output: x",
                    "api_call": "load('resnet')"}) + "\n"
        + json.dumps({"code": "no instruction here", "api_call": "load('bert')"}) + "\n"
        + json.dumps({"code": "###Instruction: something\n###Output:", "api_call": "load('gone')"})
        + "\n"
        # the train files write the instruction as a dict's value
        + json.dumps({"code": "{'Instruction': I need text embeddings, please., "
                              "'Output': {'domain': 'Text'}}", "api_call": "load('bert')"}) + "\n"
    )
    counts = apibench_to_beir(api, ev, tmp_path / "beir")
    assert counts == {"documents": 2, "queries": 2, "skipped": 2}
    asked = [json.loads(line)["text"]
             for line in (tmp_path / "beir" / "queries.jsonl").read_text().splitlines()]
    assert asked == ["label my cat photos", "I need text embeddings, please."]
    corpus = [json.loads(line) for line in (tmp_path / "beir" / "corpus.jsonl").read_text().splitlines()]
    assert corpus[0]["text"] == "resnet. Image classification. Classify. Labels photos."
    assert read_qrels(tmp_path / "beir" / "qrels.tsv") == {"q-0": {"api-0": 1}, "q-3": {"api-1": 1}}


@needs_shared("apibench", "tensorflowhub_api.jsonl")
def test_apibench_adapter_on_the_real_tensorflow_files(tmp_path: Path) -> None:
    base = SHARED_DATA / "apibench"
    counts = apibench_to_beir(base / "tensorflowhub_api.jsonl", base / "tensorflow_eval.json", tmp_path)
    assert counts["documents"] == 696
    assert counts["queries"] + counts["skipped"] == 688 and counts["queries"] > 650
