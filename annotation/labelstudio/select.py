"""Active learning: which predicted articles to annotate first.

Measure (least confidence over everything the model asserted): for a document with predicted
entities and relations carrying scores s_1..s_k,

    uncertainty = max_i (1 - s_i)

so an article is as uncertain as its shakiest span or link: one doubtful PROJECT boundary or
project_amount link is what costs an annotator a correction. Ties are broken by the mean of
(1 - s_i), then by document id, so the choice is deterministic. An item without a score counts as
score 0 (we know nothing about it). A document where the model found nothing gets uncertainty 1:
investment news always names dates and organisations, so an empty prediction is a miss.
Label Studio's task-level prediction score is 1 - uncertainty, so sorting the Data Manager by
prediction score ascending shows the same order.
"""
from __future__ import annotations

from collections.abc import Iterable

from zhie.annotation.records import Document


def item_uncertainties(doc: Document) -> list[float]:
    scores = [e.score for e in doc.entities] + [r.score for r in doc.relations]
    return [1.0 - (s if s is not None else 0.0) for s in scores]


def uncertainty(doc: Document) -> float:
    """Least confidence over entity and relation scores, in [0, 1]."""
    return max(item_uncertainties(doc), default=1.0)


def _key(doc: Document) -> tuple[float, float, str]:
    items = item_uncertainties(doc)
    mean = sum(items) / len(items) if items else 1.0
    return (-uncertainty(doc), -mean, doc.id)


def select_uncertain(predicted: Iterable[Document], n: int) -> list[Document]:
    """The `n` most uncertain predicted documents, most uncertain first."""
    if n < 0:
        raise ValueError(f"cannot select {n} documents")
    return sorted(predicted, key=_key)[:n]
