"""FGM adversarial steps: the gradient of a step is the clean one plus the one at embeddings moved along it,
the embeddings come back unchanged, and `zhie train ner --adversarial-epsilon` trains and records it."""
import json

import torch
from transformers import BertConfig, BertForTokenClassification, DataCollatorForTokenClassification, Trainer, TrainingArguments
from typer.testing import CliRunner

from test_train_ner import DOCS
from zhie.annotation.labels import BIO_TAGS
from zhie.cli import app
from zhie.models.tokenizer import tokenizer_from_vocab
from zhie.training.adversarial import with_fgm
from zhie.training.data import tokenise_documents

TINY = BertConfig(vocab_size=21128, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                  max_position_embeddings=64, num_labels=len(BIO_TAGS), hidden_dropout_prob=0.0,
                  attention_probs_dropout_prob=0.0)


def _grad_after_step(trainer_class: type[Trainer], model: BertForTokenClassification, batch: dict, tmp_path) -> torch.Tensor:
    trainer = trainer_class(model=model, args=TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to=[]))
    trainer.current_gradient_accumulation_steps = 1  # set by the training loop, which this calls into directly
    model.zero_grad()
    trainer.training_step(model, dict(batch))
    return model.get_input_embeddings().weight.grad.clone()


def test_fgm_step_adds_the_gradient_at_the_moved_embeddings_and_restores_them(tmp_path):
    torch.manual_seed(0)
    model = BertForTokenClassification(TINY)
    tok = tokenizer_from_vocab()
    batch = DataCollatorForTokenClassification(tok)(list(tokenise_documents(DOCS[:2], tok, max_len=32)))
    before = model.get_input_embeddings().weight.detach().clone()
    clean = _grad_after_step(Trainer, model, batch, tmp_path)
    both = _grad_after_step(with_fgm(Trainer, 1.0), model, batch, tmp_path)
    assert torch.equal(model.get_input_embeddings().weight, before)  # moved back after the adversarial pass
    # by hand: the gradient at the embeddings moved 1.0 along the clean gradient's direction
    with torch.no_grad():
        model.get_input_embeddings().weight.add_(clean / torch.linalg.vector_norm(clean))
    moved = _grad_after_step(Trainer, model, batch, tmp_path)
    assert not torch.allclose(moved, clean)
    assert torch.allclose(both, clean + moved, atol=1e-6)
    assert torch.equal(_grad_after_step(with_fgm(Trainer, 0.0), model, batch, tmp_path), moved)  # 0: a plain step


def test_cli_trains_with_fgm_and_records_it(tmp_path):
    lines = [json.dumps({"id": d.id, "text": d.text, "entities": [e.model_dump(exclude_none=True) for e in d.entities]},
                        ensure_ascii=False) for d in DOCS]
    (tmp_path / "d.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "ner"
    args = ["train", "ner", "--crf", "--data", str(tmp_path / "d.jsonl"), "--dev", "none", "--base-model", "random:small",
            "--max-steps", "2", "--batch-size", "2", "--max-len", "32", "-o", str(out)]
    r = CliRunner().invoke(app, args + ["--adversarial-epsilon", "0.5"])
    assert r.exit_code == 0, r.output
    assert json.loads((out / "run_config.json").read_text(encoding="utf-8"))["adversarial_epsilon"] == 0.5
    assert json.loads((out / "train_metrics.json").read_text(encoding="utf-8"))["steps"] == 2
    r = CliRunner().invoke(app, args + ["--adversarial-epsilon", "-1"])
    assert r.exit_code == 2 and "adversarial_epsilon" in r.output
