"""Training pairs: (need, the capability that served it, capabilities wrongly ranked above it).

Two sources give the same shape (``TrainingSet``):

- the evidence a deployment recorded (``from_evidence``): positive feedback (``selected``,
  ``helpful``, ``succeeded``) from verified clients only, at most one pair per client and search
  (``EvidenceStore.selections``). The chosen capability is the one the feedback names, else its
  artifact's best-ranked shown capability; the hard negatives are the best capabilities of the
  artifacts shown above the chosen one and not chosen.
- a BEIR-style set (``from_beir``): every judged (query, document) is a pair; each document is
  an artifact with one capability, as the BEIR evaluation builds them. Its hard negatives are
  found later, from what the live models rank above the right document (``with_negatives``).

The split into training and held-out parts is by query (``split``), never by pair: a need in
the held-out part was never seen in training, in any wording of one pair.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from matchgraph.engine.catalog.models import Artifact
from matchgraph.engine.evaluation.beir import doc_artifact, read_jsonl, read_qrels
from matchgraph.engine.search.query import normalize_query
from matchgraph.engine.store.contracts import Stores

MAX_NEGATIVES = 3


@dataclass(frozen=True)
class Pair:
    query: str
    positive: str  # the chosen capability's id (``slug/key``)
    negatives: tuple[str, ...] = ()  # capabilities shown above it, not chosen


@dataclass
class TrainingSet:
    source: str  # "evidence" or "beir"
    pairs: list[Pair]
    texts: dict[str, str]  # capability id -> the text the model reads for it
    artifact_of: dict[str, str]  # capability id -> artifact slug (what a search ranks)
    artifacts: list[Artifact] = field(default_factory=list)  # the catalog a candidate is judged on
    skipped: int = 0  # selections or judgements that could not become a pair

    def queries(self) -> dict[str, str]:
        """Normalised query -> a wording of it (the first)."""
        out: dict[str, str] = {}
        for p in self.pairs:
            out.setdefault(normalize_query(p.query), p.query)
        return out

    def qrels(self) -> dict[str, dict[str, int]]:
        """Normalised query -> the artifacts chosen for it (relevance 1)."""
        out: dict[str, dict[str, int]] = {}
        for p in self.pairs:
            out.setdefault(normalize_query(p.query), {})[self.artifact_of[p.positive]] = 1
        return out

    def subset(self, pairs: Sequence[Pair]) -> TrainingSet:
        return replace(self, pairs=list(pairs))


def in_holdout(query: str, share: float) -> bool:
    """Whether a need belongs to the held-out part: a stable hash of its normalised form."""
    digest = hashlib.sha256(normalize_query(query).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def split(training: TrainingSet, share: float) -> tuple[TrainingSet, TrainingSet]:
    """(training part, held-out part), by query."""
    held = [p for p in training.pairs if in_holdout(p.query, share)]
    kept = [p for p in training.pairs if not in_holdout(p.query, share)]
    return training.subset(kept), training.subset(held)


def from_evidence(stores: Stores) -> TrainingSet:
    """The pairs the recorded selections and positive feedback give (see the module's docstring)."""
    selections = stores.evidence.selections()
    cap_rows = {m.capability_id for s in selections for m in s.shown}
    cap_rows |= {s.capability_id for s in selections if s.capability_id}
    caps = stores.catalog.capabilities_by_row(sorted(cap_rows))
    artifact_rows = {c.artifact_id for c in caps.values()}
    artifacts = stores.catalog.artifacts_by_row(sorted(artifact_rows))
    texts = {c.cap_id: c.index_text for c in caps.values()}
    artifact_of = {c.cap_id: artifacts[c.artifact_id].artifact.slug for c in caps.values()
                   if c.artifact_id in artifacts}
    pairs: list[Pair] = []
    skipped = 0
    for s in selections:
        mine = [m for m in s.shown if m.artifact_id == s.artifact_id]
        if not mine:
            skipped += 1
            continue
        chosen_row = s.capability_id if s.capability_id in {m.capability_id for m in mine} else \
            min(mine, key=lambda m: m.rank).capability_id
        chosen = caps.get(chosen_row)
        if chosen is None or chosen.cap_id not in artifact_of:
            skipped += 1  # deleted since the search
            continue
        above: dict[int, int] = {}  # artifact shown above the chosen one -> its best capability
        for m in sorted(s.shown, key=lambda m: (m.artifact_rank, m.rank)):
            if m.artifact_rank < mine[0].artifact_rank and m.artifact_id != s.artifact_id:
                above.setdefault(m.artifact_id, m.capability_id)
        negatives = tuple(caps[r].cap_id for r in above.values()
                          if r in caps and caps[r].cap_id in artifact_of)
        pairs.append(Pair(s.query, chosen.cap_id, negatives[:MAX_NEGATIVES]))
    catalog = list(stores.catalog.iter_artifacts())
    return TrainingSet("evidence", pairs, texts, artifact_of, catalog, skipped)


def from_beir(corpus: Path, queries: Path, qrels: Path) -> TrainingSet:
    """Every judged (query, document) with a positive score as a pair, over the corpus as a catalog."""
    for path in (corpus, queries, qrels):
        if not Path(path).is_file():
            raise FileNotFoundError(f"{path}: no such file")
    judged = read_qrels(qrels)
    if not judged:
        raise ValueError(f"{qrels}: no judgements (query-id, corpus-id, score lines)")
    text_of = {str(q["_id"]): str(q.get("text", "")).strip() for q in read_jsonl(queries)}
    docs = read_jsonl(corpus)
    artifacts = [doc_artifact(d) for d in docs]
    cap_of = {str(d["_id"]): f"{a.slug}/{a.capabilities[0].key}" for a, d in zip(artifacts, docs)}
    texts: dict[str, str] = {}
    artifact_of: dict[str, str] = {}
    for a in artifacts:
        cap = a.capabilities[0]
        texts[f"{a.slug}/{cap.key}"] = cap.index_text()
        artifact_of[f"{a.slug}/{cap.key}"] = a.slug
    pairs: list[Pair] = []
    skipped = 0
    for qid, rels in judged.items():
        for doc_id, score in rels.items():
            if score <= 0:
                continue
            if not text_of.get(qid) or doc_id not in cap_of:
                skipped += 1
                continue
            pairs.append(Pair(text_of[qid][:500], cap_of[doc_id]))
    if not pairs:
        raise ValueError(f"{qrels}: none of its judgements names a query and a document of this set")
    return TrainingSet("beir", pairs, texts, artifact_of, artifacts, skipped)


def with_negatives(training: TrainingSet, ranked: Mapping[str, Sequence[str]]) -> TrainingSet:
    """Fill in hard negatives where a pair has none: the artifacts the live models ranked above its
    positive (``ranked``: normalised query -> artifact slugs, best first), not relevant to the query."""
    cap_of_artifact: dict[str, str] = {}
    for cap, slug in training.artifact_of.items():
        cap_of_artifact.setdefault(slug, cap)
    relevant = training.qrels()
    out: list[Pair] = []
    for p in training.pairs:
        if p.negatives:
            out.append(p)
            continue
        key = normalize_query(p.query)
        order = list(ranked.get(key, ()))
        target = training.artifact_of[p.positive]
        above = order[: order.index(target)] if target in order else order[:MAX_NEGATIVES]
        negatives = tuple(cap_of_artifact[s] for s in above if s not in relevant.get(key, {})
                          and s in cap_of_artifact)
        out.append(replace(p, negatives=negatives[:MAX_NEGATIVES]))
    return training.subset(out)
