"""A saved model's version: a hash of what decides its predictions, so two models never share one.

Label Studio keys suggestions by model_version; a version from the folder name or file sizes would let
a retrained model saved in the same folder pass for the old one.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".onnx")
METADATA = ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt",
            "relation_head.json")  # the shared relation head's thresholds
CHUNK = 1 << 20


def model_version(model_dir: str | Path) -> str:
    """`FOLDER-HASH`: sha256 over the bytes of the config, tokenizer files and every weight file.

    Each file enters the hash with its name, so renaming or moving bytes between shards changes it too.
    Raises FileNotFoundError when the folder holds no weights.
    """
    model_dir = Path(model_dir)
    weights = sorted(p for p in model_dir.iterdir() if p.is_file() and p.suffix in WEIGHT_SUFFIXES)
    if not weights:
        raise FileNotFoundError(f"no weight files ({', '.join(WEIGHT_SUFFIXES)}) in {model_dir}")
    files = [model_dir / n for n in METADATA if (model_dir / n).is_file()] + weights
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode("utf-8") + b"\0")
        with open(path, "rb") as fh:
            while block := fh.read(CHUNK):
                digest.update(block)
        digest.update(b"\0")
    return f"{model_dir.name}-{digest.hexdigest()[:12]}"
