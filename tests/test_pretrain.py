"""Pretraining path on a tiny generated corpus: build -> train -> checkpoint -> resume -> export -> reload.

The sentences are generated here from templates (no corpus text), written in two of the real source
formats so the readers, cleaning, dedup, jieba flags and packing run as they do on the full build.
"""

from __future__ import annotations

import ast
import itertools
import json
import random
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModel, AutoModelForMaskedLM

from zhie.models.tokenizer import load_tokenizer, tokenizer_from_vocab
from zhie.training import pretrain as pretrain_module
from zhie.training.corpus import build_corpus
from zhie.training.corpus_format import CLS_ID, CONT_FLAG, ID_MASK, MASK_ID, PAD_ID, SEP_ID, load_split
from zhie.training.mlm import CorpusSplit, replacement_pool, whole_word_mask
from zhie.training.pretrain import pretrain
from zhie.training.run_config import PretrainRunConfig
from zhie.training.schedule import LinearSchedule

ROOT = Path(__file__).resolve().parents[1]
TINY = {"num_hidden_layers": 2, "hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64}
SHARED_PARAGRAPH = "本次集中签约的项目涵盖新能源、生物医药和高端装备制造等领域。"


def _sentence(rng: random.Random) -> str:
    city = rng.choice(["南京", "成都", "武汉", "西安", "合肥", "苏州"])
    firm = rng.choice(["华光科技", "东方新材", "长江能源", "金桥物流", "青山制药"])
    thing = rng.choice(["智能制造产业园", "新能源电池基地", "物流枢纽", "研发中心"])
    amount = f"{rng.randint(2, 980)}.{rng.randint(1, 9)}亿元"
    verb = rng.choice(["签署合作协议", "举行开工仪式", "宣布追加投资"])
    return f"{city}市与{firm}{verb}，计划总投资{amount}，建设{thing}项目。"


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = random.Random(7)
    data = tmp_path_factory.mktemp("data")
    news = data / "external/xinwenlianbo/news"
    news.mkdir(parents=True)
    for day in range(20):
        items = []
        for _ in range(3):
            body = "".join(f"<p>{''.join(_sentence(rng) for _ in range(3))}</p>" for _ in range(2))
            items.append(
                f"### {_sentence(rng)[:14]}\n\n<p><strong>央视网消息</strong>（新闻联播）：{body}\n\n[查看原文](https://x)\n"
            )
        (news / f"202401{day + 10}.md").write_text(
            "# 《新闻联播》\n\n## 新闻摘要\n\n1.摘要\n\n## 详细新闻\n\n" + "\n".join(items), encoding="utf-8"
        )
    rows = [{"id": f"d-{i}", "text": "\n".join(_sentence(rng) for _ in range(4)) + "\n短句"} for i in range(40)]
    rows[0]["text"] += "\n" + SHARED_PARAGRAPH
    rows[1]["text"] += "\n" + SHARED_PARAGRAPH.replace("，", ",")  # NFKC duplicate of the line above
    (data / "news_raw.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")

    out = tmp_path_factory.mktemp("corpus")
    stats = build_corpus(
        out, data, sources=["news_raw", "xinwenlianbo"], workers=1, heldout_fraction=0.05, log=lambda _: None
    )
    assert stats["sources"]["news_raw"]["dropped_duplicate"] == 1
    assert stats["sources"]["news_raw"]["dropped_short"] == 40  # every "短句"
    assert stats["sources"]["xinwenlianbo"]["documents"] == 60
    return out


def test_corpus_round_trip_and_word_flags(corpus_dir: Path) -> None:
    tok = tokenizer_from_vocab()
    tokens, offsets = load_split(corpus_dir, "train")
    _, held_offsets = load_split(corpus_dir, "heldout")
    assert len(held_offsets) > 1 and len(offsets) > 10
    assert np.diff(offsets).max() <= 254 and offsets[-1] == len(tokens)
    text = tok.decode((tokens & ID_MASK).astype(np.int64).tolist()).replace(" ", "")
    assert "央视网消息" not in text and "<p>" not in text and "查看原文" not in text
    assert "总投资" in text
    pieces = tok.convert_ids_to_tokens((tokens & ID_MASK).astype(np.int64).tolist())
    flags = (tokens & CONT_FLAG) != 0
    for i, piece in enumerate(pieces[1:], start=1):
        if piece.startswith("##"):
            assert flags[i]
        if piece == "资" and pieces[i - 1] == "投":  # jieba keeps 投资 as one word
            assert flags[i]
    assert not flags[offsets[:-1]].any()  # no sentence here exceeds 254 tokens, so sequences start words


def test_whole_word_mask_respects_words_and_specials() -> None:
    gen = torch.Generator().manual_seed(0)
    rows, width = 64, 120
    ids = torch.randint(200, 5000, (rows, width), generator=gen)
    cont = torch.rand((rows, width), generator=gen) < 0.5
    ids[:, 0] = CLS_ID
    lengths = torch.randint(20, width - 1, (rows,), generator=gen)
    for r, n in enumerate(lengths.tolist()):
        ids[r, n] = SEP_ID
        ids[r, n + 1 :] = PAD_ID
        ids[r, n // 2] = SEP_ID  # a document boundary inside the sequence
    special = (ids == PAD_ID) | (ids == CLS_ID) | (ids == SEP_ID)
    cont &= ~special
    pool = torch.arange(106, 21128)
    inputs, chosen = whole_word_mask(ids, cont, pool, generator=gen)

    assert not chosen[special].any()
    assert (inputs[special] == ids[special]).all()
    word_starts = 0
    for r in range(rows):
        words: list[list[int]] = []
        for t in range(width):
            if special[r, t]:
                continue
            if cont[r, t] and words and t - 1 == words[-1][-1] and not special[r, t - 1]:
                words[-1].append(t)
            else:
                words.append([t])
        word_starts += len(words)
        picked = 0
        for w in words:
            states = chosen[r, w]
            assert states.all() or not states.any(), "a word was masked partially"
            masked = inputs[r, w] == MASK_ID
            assert masked.all() or not masked.any(), "80/10/10 is decided per word"
            picked += int(states.all())
        assert picked >= 1 and abs(picked - 0.15 * len(words)) <= 1
    share_masked = float((inputs[chosen] == MASK_ID).float().mean())
    assert 0.7 < share_masked < 0.9


def test_batch_adds_special_tokens_and_clears_first_flag(corpus_dir: Path) -> None:
    split = CorpusSplit.load(corpus_dir, "train")
    ids, cont, n_tokens = split.batch(np.array([0, 1, 2]), multiple=8)
    assert ids.shape[1] % 8 == 0 and (ids[:, 0] == CLS_ID).all()
    lens = split.offsets[1:4] - split.offsets[0:3]
    assert n_tokens == int(lens.sum()) + 6
    for r, n in enumerate(lens.tolist()):
        assert ids[r, n + 1] == SEP_ID and (ids[r, n + 2 :] == PAD_ID).all()
    assert not cont[:, 0].any() and not cont[ids == PAD_ID].any()
    pool = replacement_pool(split.tokens)
    assert int(pool.min()) >= 106


def test_schedule_replan_keeps_lr_continuous() -> None:
    s = LinearSchedule(warmup=10, total=100, anchor_step=10)
    assert s.factor(4) == pytest.approx(0.5) and s.factor(10) == pytest.approx(1.0) and s.factor(100) == 0.0
    before = s.factor(40)
    s.replan(40, 200, 0.1)
    assert s.factor(40) == pytest.approx(before) and s.factor(199) > 0 and s.factor(200) == 0.0
    fresh = LinearSchedule(warmup=10**9, total=10**12, anchor_step=10**9, planned=False)
    fresh.replan(5, 1000, 0.1)
    assert fresh.warmup == 100 and fresh.factor(99) == pytest.approx(1.0) and fresh.factor(1000) == 0.0


def test_pretrain_checkpoint_resume_export(corpus_dir: Path, tmp_path: Path) -> None:
    def run(output_dir: Path, **options) -> dict:
        cfg = PretrainRunConfig(corpus=corpus_dir, output_dir=output_dir, preset="small", batch_size=4, max_steps=6,
                                log_seconds=0.0, **options)
        return pretrain(cfg, config_overrides=TINY, log=lambda _: None)

    straight = run(tmp_path / "a")
    assert straight["training"]["steps"] == 6 and straight["training"]["stopped_by"] == "schedule"
    saved = json.loads((tmp_path / "a/run_config.json").read_text())  # written before step 0, with provenance
    assert saved["max_steps"] == 6 and saved["provenance"]["kind"] == "PretrainRunConfig"

    first = run(tmp_path / "b", stop_after_steps=4)
    assert first["training"]["steps"] == 4 and first["training"]["stopped_by"] == "stop_after_steps"
    state = torch.load(tmp_path / "b/checkpoint.pt", weights_only=True)
    assert state["progress"]["step"] == 4 and state["progress"]["cursor"] == 16
    resumed = run(tmp_path / "b", resume=True, export_fp16=tmp_path / "b16", export_max_file_mb=2.0)
    assert resumed["training"]["resumed_from_step"] == 4 and resumed["training"]["steps"] == 6
    assert resumed["losses"]["eval"]["masked_tokens"] > 0

    a = AutoModelForMaskedLM.from_pretrained(tmp_path / "a")
    b = AutoModelForMaskedLM.from_pretrained(tmp_path / "b")
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.allclose(pa, pb, atol=1e-6), f"resume diverged from the straight run at {name}"

    assert max(f.stat().st_size for f in (tmp_path / "b16").iterdir()) <= 2 * 2**20  # the limit passed in
    exported = AutoModel.from_pretrained(tmp_path / "b16")
    assert next(exported.parameters()).dtype == torch.float32
    mlm16 = AutoModelForMaskedLM.from_pretrained(tmp_path / "b16")
    assert torch.allclose(
        mlm16.bert.embeddings.word_embeddings.weight, b.bert.embeddings.word_embeddings.weight, atol=1e-3
    )
    assert json.loads((tmp_path / "b16/pretrain_metrics.json").read_text())["training"]["steps"] == 6
    assert load_tokenizer(tmp_path / "b").convert_tokens_to_ids("[MASK]") == MASK_ID


def test_budget_plans_steps_from_throughput(corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = itertools.count()
    monkeypatch.setattr(pretrain_module, "perf_counter", lambda: next(ticks) * 0.1)  # a clock that CPU load cannot skew
    lines: list[str] = []
    cfg = PretrainRunConfig(corpus=corpus_dir, output_dir=tmp_path / "c", preset="small", max_minutes=0.05,
                            batch_size=2, log_seconds=0.5)
    result = pretrain(cfg, config_overrides=TINY, log=lines.append)
    assert any(line.startswith("measured") for line in lines), lines
    training = result["training"]
    assert training["stopped_by"] in {"schedule", "deadline"} and training["steps"] >= 8
    assert training["planned_total_steps"] - training["steps"] <= 2  # the schedule ends with the budget
    assert 2.5 <= training["hours"] * 3600 <= 3.5


def test_gpu_side_modules_import_only_what_the_gpu_machine_has() -> None:
    """The GPU machine has torch, numpy, transformers, safetensors, tokenizers: no jieba/pandas/pydantic.

    Follows our own imports from the pretraining loop, so a new module it pulls in is checked too."""
    allowed = {"torch", "numpy", "transformers", "safetensors", "tokenizers", "__future__"}
    todo, seen = ["training/pretrain.py"], set()
    while todo:
        rel = todo.pop()
        if rel in seen:
            continue
        seen.add(rel)
        for node in ast.parse((ROOT / rel).read_text(encoding="utf-8")).body:  # module level only
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            for name in names:
                root = name.split(".")[0]
                if root == "zhie":
                    todo.append(name.split(".", 1)[1].replace(".", "/") + ".py")
                else:
                    assert root in sys.stdlib_module_names or root in allowed, f"{rel} imports {name}"
    assert {"training/mlm.py", "training/corpus_format.py", "models/encoder.py"} <= seen
