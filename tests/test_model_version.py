"""model_version follows the weights' bytes: a retrained model saved under the same folder gets a new version."""
import json

import pytest
import torch
from safetensors.torch import save_file

from zhie.models.version import model_version


def _save(folder, value: float) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps({"model_type": "bert"}), encoding="utf-8")
    save_file({"w": torch.full((4, 4), value)}, str(folder / "model.safetensors"))


def test_same_folder_same_sizes_different_weights_differ(tmp_path):
    model = tmp_path / "ner"
    _save(model, 0.5)
    first, size = model_version(model), (model / "model.safetensors").stat().st_size
    _save(model, 0.25)  # retrained: same config, same file size, other numbers
    assert (model / "model.safetensors").stat().st_size == size
    assert model_version(model) != first and model_version(model).startswith("ner-")


def test_same_bytes_same_version_and_no_weights_is_an_error(tmp_path):
    _save(tmp_path / "a" / "ner", 0.5)
    _save(tmp_path / "b" / "ner", 0.5)
    assert model_version(tmp_path / "a" / "ner") == model_version(tmp_path / "b" / "ner")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no weight files"):
        model_version(tmp_path / "empty")
