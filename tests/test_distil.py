"""Distillation runs end to end on a few written sentences: teacher labels cached, a student that loads
with transformers alone, a resumed run that continues, and no dev/test text among the distilled prose."""
import json

import pytest
import torch
from transformers import AutoModelForTokenClassification, BertConfig
from typer.testing import CliRunner

from zhie.annotation.jsonl import write_jsonl
from test_train_ner import _doc
from zhie.cli import app
from zhie.models.ner import build_ner_model
from zhie.training.corpus_sources import read_xinwenlianbo
from zhie.training.distil import DistilRunConfig, HeldOutGuard, external_texts, init_from_teacher
from zhie.training.run_config import RunConfigError

runner = CliRunner()
PLACES = [("重庆", "6亿元"), ("成都", "12亿元"), ("郑州", "3000万元"), ("西安", "8.5亿元")]
HELD_OUT = "这是一段只在开发集里出现的文字，用来检查它不会混进蒸馏语料，长度要超过三十个字符才行。"




def _shared_root(tmp_path):
    """A stand-in for ../shared/data holding one 新闻联播-style file (the reader's format)."""
    news = tmp_path / "shared" / "external" / "xinwenlianbo" / "news"
    news.mkdir(parents=True)
    items = [f"### 第{i}条\n<p>{p}市今天举行重大项目集中签约仪式，{p}高新区新能源项目总投资{m}。</p>"
             for i, (p, m) in enumerate(PLACES * 3)]
    items.append(f"### 混入\n<p>{HELD_OUT}</p>")
    (news / "2024-01-01.md").write_text("# 摘要\n\n## 详细新闻\n" + "\n".join(items), encoding="utf-8")
    return tmp_path / "shared"


def test_external_texts_share_characters_and_drop_held_out_overlap(tmp_path):
    root = _shared_root(tmp_path)
    texts, stats = external_texts(root, ["xinwenlianbo"], 10_000, HeldOutGuard([HELD_OUT]), log=lambda _: None)
    assert texts and not any(HELD_OUT[:20] in t for t in texts)
    assert stats["dropped_held_out_overlap"] == 1
    capped, _ = external_texts(root, ["xinwenlianbo"], 10, HeldOutGuard([]), log=lambda _: None)
    assert len(capped) == 1  # the cap is reached by the first document


def test_xinwenlianbo_reader_starts_at_first_day(tmp_path):
    """benchmarks/domain_agreement_set.py takes only the days that distillation, reading in date order, does not
    reach (or, for a check of fit, only days it did)."""
    root = _shared_root(tmp_path)
    later = root / "external" / "xinwenlianbo" / "news" / "20260102.md"
    later.write_text("## 详细新闻\n### 新闻\n<p>南宁市新材料项目今天开工，总投资20亿元。</p>", encoding="utf-8")
    assert len(list(read_xinwenlianbo(root))) == len(PLACES) * 3 + 2
    later_items = [[p for p in item if p] for item in read_xinwenlianbo(root, "20260101")]
    assert later_items == [["新闻", "南宁市新材料项目今天开工，总投资20亿元。"]]
    earlier = list(read_xinwenlianbo(root, before_day="20260102"))  # the day distillation reached, say
    assert len(earlier) == len(PLACES) * 3 + 1 and "南宁市新材料项目今天开工，总投资20亿元。" not in str(earlier)


def test_dev_and_test_splits_cannot_be_distilled():
    with pytest.raises(RunConfigError, match="only the train split"):
        DistilRunConfig.load(None, data=["news:dev"])
    with pytest.raises(RunConfigError, match="unknown sources"):
        DistilRunConfig.load(None, external_sources=["nosuch"])
    with pytest.raises(RunConfigError, match="unlabelled_windows: Input should be greater than or equal to 0"):
        DistilRunConfig.load(None, unlabelled_windows=-1)


def test_student_starts_from_the_teacher():
    cfg = dict(vocab_size=21128, num_hidden_layers=2, num_attention_heads=2, max_position_embeddings=64)
    teacher = build_ner_model(BertConfig(hidden_size=32, intermediate_size=64, **cfg))
    same = build_ner_model(BertConfig(hidden_size=32, intermediate_size=64, **{**cfg, "num_hidden_layers": 1}))
    info = init_from_teacher(same, teacher)
    assert info["method"] == "copy" and info["tensors"] == info["of"]
    t_sd = teacher.state_dict()
    assert all(torch.equal(v, t_sd[k]) for k, v in same.state_dict().items())
    small = build_ner_model(BertConfig(hidden_size=16, intermediate_size=32, **cfg))
    info = init_from_teacher(small, teacher)
    assert info["method"] == "pca-embeddings" and info["components"] == 16
    words = teacher.bert.embeddings.word_embeddings.weight.detach()
    projected = small.bert.embeddings.word_embeddings.weight.detach()
    # PCA keeps the geometry: distances between words stay strongly correlated
    d_t = torch.cdist(words[:200], words[:200]).flatten()
    d_s = torch.cdist(projected[:200], projected[:200]).flatten()
    assert torch.corrcoef(torch.stack([d_t, d_s]))[0, 1] > 0.5


def test_distil_cli_runs_caches_teacher_labels_and_resumes(tiny_ner_model_dir, tmp_path):
    docs = [_doc(i, p, m) for i, (p, m) in enumerate(PLACES)]
    write_jsonl(docs, tmp_path / "train.jsonl")
    write_jsonl(docs[:2], tmp_path / "dev.jsonl")
    out = tmp_path / "student"
    common = ["train", "distil", "--teacher", str(tiny_ner_model_dir), "--data", str(tmp_path / "train.jsonl"),
              "--dev", str(tmp_path / "dev.jsonl"), "--data-root", str(_shared_root(tmp_path)),
              "--external-source", "xinwenlianbo", "--external-chars", "400", "--student-layers", "1",
              "--student-hidden", "16", "--student-heads", "2", "--student-intermediate", "32",
              "--batch-size", "4", "--max-steps", "8", "--threads", "1", "--teacher-int8", "-o", str(out)]
    first = runner.invoke(app, [*common, "--max-minutes", "0.0001"])  # the budget stops it after one step
    assert first.exit_code == 0, first.output
    metrics = json.loads((out / "train_metrics.json").read_text(encoding="utf-8"))
    assert metrics["steps"] < 8 and list((out / "checkpoints").glob("checkpoint-*"))
    assert metrics["labelling"]["windows"] > len(docs)  # gold windows plus external ones
    assert set(metrics["dev"]["agreement_with_teacher"]["all"]) == {"reproduced", "teacher_entities"}
    assert "entities" in json.loads((out / "dev_report.json").read_text(encoding="utf-8"))
    saved = json.loads((out / "run_config.json").read_text(encoding="utf-8"))
    assert saved["student_hidden"] == 16 and saved["provenance"]["kind"] == "DistilRunConfig"

    second = runner.invoke(app, [*common, "--resume", "--export-fp16", str(tmp_path / "fp16")])
    assert second.exit_code == 0, second.output
    assert "resuming from" in second.output and "(cached)" in second.output
    assert json.loads((out / "train_metrics.json").read_text(encoding="utf-8"))["steps"] == 8
    for folder in (out, tmp_path / "fp16"):
        model = AutoModelForTokenClassification.from_pretrained(folder)
        assert model.config.hidden_size == 16 and model.config.num_hidden_layers == 1
    assert model.dtype == torch.float16


def test_a_lexicon_teacher_labels_with_its_features_and_its_student_reads_them(tmp_path):
    from zhie.models.lexicon import NUM_TYPES, add_lexicon_types, default_lexicon, uses_lexicon
    from zhie.models.tokenizer import tokenizer_from_vocab
    from zhie.training.distil import _teacher_batch, _window_batch

    torch.manual_seed(0)
    teacher = build_ner_model(BertConfig(vocab_size=21128, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                         num_attention_heads=2, max_position_embeddings=64)).eval()
    add_lexicon_types(teacher)
    with torch.no_grad():  # as after training: the feature rows differ
        teacher.bert.embeddings.token_type_embeddings.weight.normal_()
    tok = tokenizer_from_vocab()
    text = "南宁市人民政府与广西壮族自治区签约新能源项目。"
    windows = _window_batch({"text": [text]}, tok, max_len=64, lexicon=True)
    assert windows["token_type_ids"][0][1:-1] == [int(t) for t in default_lexicon().char_types(text)]
    with_types = _teacher_batch(windows, teacher, tok.pad_token_id)["teacher_logits"][0]
    without = _teacher_batch({"input_ids": windows["input_ids"]}, teacher, tok.pad_token_id)["teacher_logits"][0]
    assert not (with_types == without).all()   # the teacher's soft labels are computed with its features
    teacher.save_pretrained(tmp_path / "teacher")
    tok.save_pretrained(tmp_path / "teacher")
    write_jsonl([_doc(i, p, m) for i, (p, m) in enumerate(PLACES)], tmp_path / "train.jsonl")
    out = tmp_path / "student"
    r = runner.invoke(app, ["train", "distil", "--teacher", str(tmp_path / "teacher"), "--data",
                            str(tmp_path / "train.jsonl"), "--dev", "none", "--data-root", str(_shared_root(tmp_path)),
                            "--external-source", "xinwenlianbo", "--external-chars", "200", "--student-layers", "1",
                            "--student-hidden", "16", "--student-heads", "2", "--student-intermediate", "32",
                            "--batch-size", "4", "--max-steps", "2", "--threads", "1", "-o", str(out)])
    assert r.exit_code == 0, r.output
    student = AutoModelForTokenClassification.from_pretrained(out)
    assert uses_lexicon(student.config) and student.config.type_vocab_size == NUM_TYPES


def test_windows_built_here_train_elsewhere_without_the_corpora(tiny_ner_model_dir, tmp_path):
    """--windows-only saves compact windows; --windows trains on them with no prose or news file at hand
    (the accelerator machine's case) and labels exactly the windows that were saved."""
    from datasets import load_from_disk

    write_jsonl([_doc(i, p, m) for i, (p, m) in enumerate(PLACES)], tmp_path / "train.jsonl")
    built = tmp_path / "built"
    common = ["--teacher", str(tiny_ner_model_dir), "--dev", "none", "--student-layers", "1", "--student-hidden", "16",
              "--student-heads", "2", "--student-intermediate", "32", "--batch-size", "4", "--max-steps", "3",
              "--threads", "1"]
    r = runner.invoke(app, ["train", "distil", *common, "--windows-only", "--data", str(tmp_path / "train.jsonl"),
                            "--data-root", str(_shared_root(tmp_path)), "--external-source", "xinwenlianbo",
                            "--external-chars", "300", "-o", str(built)])
    assert r.exit_code == 0, r.output
    saved = load_from_disk(str(built / "windows"))
    assert saved.features["input_ids"].feature.dtype == "int16" and saved.features["labels"].feature.dtype == "int8"
    meta = json.loads((built / "windows" / "distil_windows.json").read_text(encoding="utf-8"))
    assert meta["gold_windows"] == sum(saved["gold"]) > 0 and meta["windows"] == len(saved) > meta["gold_windows"]
    assert not (built / "model.safetensors").exists()  # windows only: no training

    out = tmp_path / "student"
    r = runner.invoke(app, ["train", "distil", *common, "--windows", str(built / "windows"),
                            "--data-root", str(tmp_path / "nowhere"), "--dataloader-workers", "1", "-o", str(out)])
    assert r.exit_code == 0, r.output
    metrics = json.loads((out / "train_metrics.json").read_text(encoding="utf-8"))
    assert metrics["labelling"]["windows"] == len(saved) and metrics["steps"] == 3
    assert AutoModelForTokenClassification.from_pretrained(out).config.num_hidden_layers == 1


def test_saved_windows_must_match_the_teacher(tmp_path):
    from datasets import Dataset

    from zhie.training.distil import load_windows, save_windows

    windows = Dataset.from_dict({"input_ids": [[101, 800, 102]], "labels": [[-100, 0, -100]],
                                 "token_type_ids": [[0, 3, 0]], "gold": [True]})
    save_windows(windows, {"key": "k", "max_len": 256, "lexicon": True, "gold_windows": 1, "windows": 1}, tmp_path / "w")
    loaded, _ = load_windows(tmp_path / "w", 256, lexicon=True)
    assert loaded["input_ids"] == [[101, 800, 102]] and loaded["labels"] == [[-100, 0, -100]]
    with pytest.raises(ValueError, match="lexicon True.*lexicon False"):
        load_windows(tmp_path / "w", 256, lexicon=False)
    with pytest.raises(ValueError, match="--windows-only"):
        load_windows(tmp_path, 256, lexicon=True)


def test_length_grouped_batches_read_the_length_column_once(tmp_path):
    from datasets import Dataset
    from transformers import TrainingArguments

    from zhie.training.distil import DistilTrainer

    lengths = [5, 40, 7, 33, 12, 250, 9, 18]
    ds = Dataset.from_dict({"length": lengths, "input_ids": [[1] * n for n in lengths]}).with_format("numpy")
    args = TrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=2, use_cpu=True, report_to=[])
    trainer = DistilTrainer(model=torch.nn.Linear(1, 1), args=args, train_dataset=ds, temperature=2.0,
                            gold_weight=1.0, warmup_fraction=0.1, budgeted=False)
    sampler = trainer._get_train_sampler()
    assert sampler.lengths == lengths and all(type(n) is int for n in sampler.lengths)
    order = list(sampler)
    assert sorted(order) == list(range(len(lengths))) and order[0] == 5  # the longest batch comes first


def test_path_target_is_the_teachers_decoded_tags_and_the_loss_fits_them(tmp_path):
    """An arg-max that breaks IOB2 (I-ORG after O) becomes the well-formed path inference decodes, and the
    student's loss is the cross-entropy to that path: near zero when its logits pick it, large when not."""
    from types import SimpleNamespace

    import numpy as np
    from transformers import TrainingArguments

    from zhie.annotation.labels import BIO_TAGS
    from zhie.training.distil import DistilTrainer, collate

    tag = {t: i for i, t in enumerate(BIO_TAGS)}
    logits = np.full((3, len(BIO_TAGS)), -2.0, dtype=np.float32)  # three tokens between [CLS] and [SEP]
    logits[0, tag["O"]], logits[0, tag["B-ORG"]] = 1.0, 0.9
    logits[1, tag["I-ORG"]], logits[2, tag["I-ORG"]] = 3.0, 3.0
    feature = {"input_ids": [1, 5, 6, 7, 2], "labels": [-100] * 5, "teacher_logits": logits}
    soft = collate([feature], pad_id=0)
    assert "teacher_tags" not in soft
    batch = collate([feature], pad_id=0, decode_path=True)
    assert batch["teacher_tags"].tolist() == [[-100, tag["B-ORG"], tag["I-ORG"], tag["I-ORG"], -100]]

    args = TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to=[])
    trainer = DistilTrainer(model=torch.nn.Linear(1, 1), args=args, temperature=2.0, gold_weight=1.0,
                            warmup_fraction=0.1, budgeted=False)
    right = torch.full((1, 5, len(BIO_TAGS)), -10.0)
    right[0, [1, 2, 3], [tag["B-ORG"], tag["I-ORG"], tag["I-ORG"]]] = 10.0
    wrong = torch.full((1, 5, len(BIO_TAGS)), -10.0)
    wrong[0, [1, 2, 3], tag["O"]] = 10.0
    losses = [trainer.compute_loss(lambda **_: SimpleNamespace(logits=out), batch).item() for out in (right, wrong)]
    assert losses[0] < 1e-3 < 10 < losses[1]
