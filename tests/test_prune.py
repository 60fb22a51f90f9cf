"""Width pruning: the kept slices are the model's own weights, the least active ones are what goes, and a
pruned model is a plain BERT tagger that distillation can start from."""
import json

import pytest
import torch
from transformers import AutoModelForTokenClassification, BertConfig
from typer.testing import CliRunner

from test_distil import PLACES, _shared_root
from test_train_ner import _doc
from zhie.annotation.jsonl import write_jsonl
from zhie.cli import app
from zhie.models.crf import CONFIG_KEY as CRF_KEY
from zhie.models.ner import build_ner_model
from zhie.training.prune import importance, prune

HIDDEN, HEADS, FFN = 32, 4, 16


def _model(**extra) -> torch.nn.Module:
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=200, hidden_size=HIDDEN, num_hidden_layers=2, num_attention_heads=HEADS,
                     intermediate_size=FFN, max_position_embeddings=64, **extra)
    return build_ner_model(cfg).eval()


def _batches(n: int = 3) -> list[dict]:
    g = torch.Generator().manual_seed(1)
    out = []
    for _ in range(n):
        ids = torch.randint(5, 200, (4, 12), generator=g)
        mask = torch.ones_like(ids)
        mask[0, 8:] = 0  # one padded row
        out.append({"input_ids": ids, "attention_mask": mask})
    return out


def _logits(model, batch) -> torch.Tensor:
    with torch.no_grad():
        return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits


def test_pruning_to_the_full_size_is_the_same_model():
    model = _model()
    same, info = prune(model, importance(model, _batches()), HIDDEN, HEADS, FFN)
    assert torch.equal(_logits(model, _batches()[0]), _logits(same, _batches()[0]))
    assert info["hidden_importance_kept"] == 1.0


def test_dead_neurons_are_the_ones_pruned_and_their_loss_changes_nothing():
    model = _model()
    dead = [1, 4, 6, 9, 11, 12, 14, 15]
    with torch.no_grad():
        for layer in model.bert.encoder.layer:
            layer.intermediate.dense.weight[dead] = 0  # GELU(0) = 0: these neurons never fire
            layer.intermediate.dense.bias[dead] = 0
    imp = importance(model, _batches())
    assert all(float(n[dead].sum()) == 0.0 and bool((n[[i for i in range(FFN) if i not in dead]] > 0).all())
               for n in imp.neurons)
    smaller, _ = prune(model, imp, HIDDEN, HEADS, FFN - len(dead))
    assert smaller.config.intermediate_size == FFN - len(dead)
    torch.testing.assert_close(_logits(model, _batches()[0]), _logits(smaller, _batches()[0]))


def test_a_silent_head_and_quiet_channels_go_first(tmp_path):
    model = _model(**{CRF_KEY: {"note": "carried over"}})
    with torch.no_grad():
        layer = model.bert.encoder.layer[0].attention.self
        layer.value.weight[8:16] = 0  # head 1 of layer 0 passes nothing on
        layer.value.bias[8:16] = 0
    imp = importance(model, _batches())
    assert int(imp.heads[0].argmin()) == 1
    small, info = prune(model, imp, 16, 2, 8, layers=1)
    assert 1 not in info["heads"][0] and len(info["heads"]) == 1
    kept = torch.topk(imp.hidden, 16).indices.sort().values
    assert torch.equal(small.bert.embeddings.word_embeddings.weight, model.bert.embeddings.word_embeddings.weight[:, kept])
    assert 0.5 < info["hidden_importance_kept"] < 1.0
    small.save_pretrained(tmp_path)
    loaded = AutoModelForTokenClassification.from_pretrained(tmp_path)
    assert (loaded.config.hidden_size, loaded.config.num_attention_heads, loaded.config.intermediate_size,
            loaded.config.num_hidden_layers) == (16, 2, 8, 1)
    assert getattr(loaded.config, CRF_KEY) == {"note": "carried over"}
    assert torch.isfinite(_logits(loaded, _batches()[0])).all()


def test_impossible_shapes_are_refused():
    model = _model()
    imp = importance(model, _batches(1))
    with pytest.raises(ValueError, match="heads of 8 do not make hidden size 20"):
        prune(model, imp, 20, 2, 8)
    with pytest.raises(ValueError, match="3 of 2 layers"):
        prune(model, imp, 16, 2, 8, layers=3)
    with pytest.raises(ValueError, match="cannot keep 40 of 16"):
        prune(model, imp, 16, 2, 40)


def test_distil_starts_a_student_pruned_from_a_model_on_a_sample_of_windows(tiny_ner_model_dir, tmp_path):
    docs = [_doc(i, p, m) for i, (p, m) in enumerate(PLACES)]
    write_jsonl(docs, tmp_path / "train.jsonl")
    out = tmp_path / "student"
    r = CliRunner().invoke(app, [
        "train", "distil", "--teacher", str(tiny_ner_model_dir), "--prune-from", str(tiny_ner_model_dir),
        "--data", str(tmp_path / "train.jsonl"), "--dev", "none", "--data-root", str(_shared_root(tmp_path)),
        "--external-source", "xinwenlianbo", "--external-chars", "2000", "--unlabelled-windows", "2",
        "--student-layers", "1", "--student-hidden", "16", "--student-heads", "1", "--student-intermediate", "24",
        "--batch-size", "4", "--max-steps", "2", "--threads", "1", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "sampled 2 unlabelled windows" in r.output
    metrics = json.loads((out / "train_metrics.json").read_text(encoding="utf-8"))
    assert metrics["student"]["init"]["method"] == "prune"
    assert metrics["student"]["init"]["calibration_windows"] == len(docs)
    assert metrics["labelling"]["windows"] == len(docs) + 2  # every gold window, two of the unlabelled
    model = AutoModelForTokenClassification.from_pretrained(out)
    assert (model.config.hidden_size, model.config.intermediate_size) == (16, 24)


def test_train_prune_keeps_the_most_active_neurons_of_a_saved_model(tiny_ner_model_dir, tmp_path):
    docs = [_doc(i, p, m) for i, (p, m) in enumerate(PLACES)]
    write_jsonl(docs, tmp_path / "train.jsonl")
    out = tmp_path / "pruned"
    r = CliRunner().invoke(app, ["train", "prune", str(tiny_ner_model_dir), "-o", str(out),
                                 "--data", str(tmp_path / "train.jsonl"), "--intermediate", "24"])
    assert r.exit_code == 0, r.output
    info = json.loads((out / "prune_info.json").read_text(encoding="utf-8"))
    assert info["calibration_windows"] == len(docs) and info["data"] == [str(tmp_path / "train.jsonl")]
    source = AutoModelForTokenClassification.from_pretrained(tiny_ner_model_dir)
    pruned = AutoModelForTokenClassification.from_pretrained(out)
    assert (pruned.config.hidden_size, pruned.config.num_attention_heads, pruned.config.intermediate_size) == (32, 2, 24)
    # the same activations, recomputed here on one batch of those windows, rank the neurons it kept
    from zhie.models.tokenizer import load_tokenizer
    from zhie.training.data import tokenise_documents
    from zhie.training.prune import calibration_batches

    tokenizer = load_tokenizer(tiny_ner_model_dir)
    windows = tokenise_documents(docs, tokenizer)
    windows = windows.map(lambda b: {"length": [len(x) for x in b["input_ids"]]}, batched=True).sort("length")
    imp = importance(source, calibration_batches(windows, tokenizer))
    kept = torch.topk(imp.neurons[0], 24).indices.sort().values
    assert torch.equal(pruned.bert.encoder.layer[0].intermediate.dense.weight,
                       source.bert.encoder.layer[0].intermediate.dense.weight[kept])
    assert (out / "tokenizer.json").exists()


def test_train_prune_names_what_is_wrong(tiny_ner_model_dir, tmp_path):
    write_jsonl([_doc(0, *PLACES[0])], tmp_path / "train.jsonl")
    base = ["train", "prune", "-o", str(tmp_path / "out"), "--data", str(tmp_path / "train.jsonl")]
    r = CliRunner().invoke(app, base[:2] + [str(tmp_path / "nowhere")] + base[2:])
    assert r.exit_code == 2 and "no NER model at" in r.output
    r = CliRunner().invoke(app, base[:2] + [str(tiny_ner_model_dir)] + base[2:] + ["--intermediate", "100"])
    assert r.exit_code == 2 and "cannot keep 100 of 64" in r.output
