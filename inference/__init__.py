"""Inference: the Extractor (Python API) behind the CLI and the HTTP services."""
from zhie.inference.extractor import Extractor, ModelNotFoundError

__all__ = ["Extractor", "ModelNotFoundError"]
