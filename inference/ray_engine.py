"""Batch prediction on Ray Data: the same Extractor, one copy per actor, locally or on a cluster.

Past one machine users need a standard engine, not a home-made job runner: `map_batches` with a
callable class loads the model once per actor, and each actor uses one intra-op thread, so N actors
fill N cores. Records travel as JSON strings, so the output is exactly what the in-process path writes.
On a cluster (`address`), every node needs this package installed.

One Ray row is one batch of the in-process path (`batch_size` consecutive records), never split. The NER
encoder no longer cares (in int8 an encoder call holds one article's windows, so an article reads the same beside
any others), but a marker relation model (`relations=DIR`) in int8 batches candidate pairs across a batch's
articles, and Ray Data cuts `map_batches` batches at its block boundaries: before int8 ran per article, with one
record per row, 791 of 807 articles of our train split came out with different scores.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from zhie.annotation.records import Document


class _PredictActor:
    """One Extractor per Ray actor."""

    def __init__(self, load_options: dict[str, Any]) -> None:
        import torch

        from zhie.inference.extractor import Extractor

        torch.set_num_threads(1)
        self.extractor = Extractor.load(**load_options)

    def __call__(self, rows: dict[str, Any]) -> dict[str, list[list[str]]]:
        """Each row's records are one batch of the in-process path, predicted together."""
        out = []
        for records in rows["records"]:
            docs = [Document.model_validate_json(s) for s in records]
            out.append([d.model_dump_json(exclude_none=True) for d in self.extractor.predict_documents(docs)])
        return {"records": out}


def predict_with_ray(docs: Iterable[Document], *, load_options: dict[str, Any] | None = None, workers: int = 2,
                     address: str | None = None, batch_size: int = 16, chunk: int = 10_000) -> Iterator[Document]:
    """Predicted documents in input order; input is streamed to Ray `chunk` records at a time."""
    try:
        import ray
    except ImportError as exc:
        raise ImportError("the Ray engine needs Ray: pip install 'zh-invest-ie[ray]'") from exc
    if not ray.is_initialized():
        ray.init(address=address, num_cpus=None if address else workers, include_dashboard=False,
                 log_to_driver=False, configure_logging=False)
    ray.data.DataContext.get_current().execution_options.preserve_order = True
    ray.data.DataContext.get_current().enable_progress_bars = False
    batches = _batches(iter(docs), batch_size)
    while groups := list(islice(batches, max(1, chunk // batch_size))):
        ds = ray.data.from_items([{"records": [d.model_dump_json(exclude_none=True) for d in g]} for g in groups])
        out = ds.map_batches(_PredictActor, fn_constructor_kwargs={"load_options": load_options or {}},
                             batch_size=1, compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=1)
        for row in out.iter_rows():
            for record in row["records"]:
                yield Document.model_validate_json(record)


def _batches(docs: Iterator[Document], size: int) -> Iterator[list[Document]]:
    """Consecutive batches of `size` records, as the in-process path cuts them."""
    while batch := list(islice(docs, size)):
        yield batch
