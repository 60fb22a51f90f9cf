"""Batch prediction on Ray Data: the same Extractor, one copy per actor, locally or on a cluster.

Past one machine users need a standard engine, not a home-made job runner: `map_batches` with a
callable class loads the model once per actor, and each actor uses one intra-op thread, so N actors
fill N cores. Records travel as JSON strings, so the output is exactly what the in-process path writes.
On a cluster (`address`), every node needs this package installed.
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

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[str]]:
        docs = [Document.model_validate_json(s) for s in batch["record"]]
        return {"record": [d.model_dump_json(exclude_none=True) for d in self.extractor.predict_documents(docs)]}


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
    it = iter(docs)
    while batch := list(islice(it, chunk)):
        ds = ray.data.from_items([{"record": d.model_dump_json(exclude_none=True)} for d in batch])
        out = ds.map_batches(_PredictActor, fn_constructor_kwargs={"load_options": load_options or {}},
                             batch_size=batch_size, compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=1)
        for row in out.iter_rows():
            yield Document.model_validate_json(row["record"])
