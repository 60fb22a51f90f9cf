"""Run configurations: defaults once, a file, flags that win, saved with the git revision before training."""
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from zhie.cli import app
from zhie.training.run_config import NerRunConfig, PretrainRunConfig, RunConfigError
from zhie.training.train_ner import DEFAULT_ENCODER

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def test_file_then_flags_win_and_save_round_trips(tmp_path):
    (tmp_path / "run.toml").write_text('max_steps = 7\nlr = 0.5\ndata = ["a.jsonl*2"]\n', encoding="utf-8")
    cfg = NerRunConfig.load(tmp_path / "run.toml", lr=0.25, batch_size=None)
    assert (cfg.max_steps, cfg.lr, cfg.batch_size, cfg.data) == (7, 0.25, NerRunConfig().batch_size, ["a.jsonl*2"])
    saved = json.loads(cfg.save(tmp_path / "out").read_text(encoding="utf-8"))
    assert saved["provenance"]["kind"] == "NerRunConfig"
    assert len(saved["provenance"]["git_revision"]) == 40 and isinstance(saved["provenance"]["git_dirty"], bool)
    assert NerRunConfig.load(tmp_path / "out" / "run_config.json") == cfg  # a saved run repeats as a config
    (tmp_path / "run.json").write_text('{"preset": "base", "lr": 0.001}', encoding="utf-8")
    assert PretrainRunConfig.load(tmp_path / "run.json").lr == 0.001


@pytest.mark.parametrize("text, words", [
    ("max_stepz = 3\n", ["bad.toml", "max_stepz", "Extra inputs"]),
    ("max_steps = 'many'\n", ["bad.toml", "max_steps", "integer"]),
    ("max_steps = \n", ["bad.toml"]),
])
def test_bad_files_are_errors_naming_file_and_field(tmp_path, text, words):
    (tmp_path / "bad.toml").write_text(text, encoding="utf-8")
    with pytest.raises(RunConfigError) as err:
        NerRunConfig.load(tmp_path / "bad.toml")
    assert all(w in str(err.value) for w in words), str(err.value)
    r = runner.invoke(app, ["train", "ner", "--config", str(tmp_path / "bad.toml")])
    assert r.exit_code == 2 and "bad.toml" in r.stderr


def test_shipped_configs_are_the_bundled_models_six_stage_recipe():
    cfg = NerRunConfig.load(ROOT / "configs" / "ner-default.toml")
    recorded = json.loads((ROOT / "models/weights/ner/stage1_train_config.json").read_text(encoding="utf-8"))
    metrics = json.loads((ROOT / "models/weights/ner/stage1_train_metrics.json").read_text(encoding="utf-8"))
    assert recorded.pop("max_minutes") and metrics["steps"] == recorded["max_steps"]  # the budget never bound
    assert ROOT / recorded.pop("base_model") == DEFAULT_ENCODER and cfg.base_model is None
    assert {k: getattr(cfg, k) for k in recorded} == recorded
    assert cfg.model_dump(exclude={"output"}) == NerRunConfig().model_dump(exclude={"output"})  # = the defaults
    stage2 = NerRunConfig.load(ROOT / "configs" / "ner-finetune.toml")
    ran = NerRunConfig.load(ROOT / "models/weights/ner/stage2_run_config.json")  # options added since: their defaults
    assert stage2.base_model == "runs/ner-default" and ran.base_model == "models/weights/ner"  # stage 1 = the old bundled model
    skip = {"output", "base_model"}
    assert ran.model_dump(exclude=skip) == stage2.model_dump(exclude=skip)
    stage3 = NerRunConfig.load(ROOT / "configs" / "ner-crf.toml")
    ran = NerRunConfig.load(ROOT / "models/weights/ner/stage3_run_config.json")
    assert stage3.base_model == "runs/ner-finetune" and ran.base_model == "models/weights/ner"  # from the bundled stage 2
    assert stage3.crf and ran.model_dump(exclude=skip) == stage3.model_dump(exclude=skip)
    control = NerRunConfig.load(ROOT / "configs" / "experiments" / "ner-continue-softmax.toml")
    assert control.model_dump(exclude={"output", "crf"}) == ran.model_dump(exclude={"output", "crf"}) and not control.crf
    stage4 = NerRunConfig.load(ROOT / "configs" / "ner-lexicon.toml")
    ran = NerRunConfig.load(ROOT / "models/weights/ner/stage4_run_config.json")
    assert stage4.base_model == "runs/ner-crf" and ran.base_model == "models/weights/ner"  # from the bundled stage 3
    assert stage4.crf and stage4.lexicon and ran.model_dump(exclude=skip) == stage4.model_dump(exclude=skip)
    stage5 = NerRunConfig.load(ROOT / "configs" / "ner-lexicon-more.toml")
    ran = NerRunConfig.load(ROOT / "models/weights/ner/stage5_run_config.json")
    assert stage5.base_model == "runs/ner-lexicon" and ran.base_model == "models/weights/ner"  # from the bundled stage 4
    assert ran.model_dump(exclude=skip) == stage5.model_dump(exclude=skip) == stage4.model_dump(exclude=skip)
    stage6 = NerRunConfig.load(ROOT / "configs" / "ner-train-dev.toml")
    ran = NerRunConfig.load(ROOT / "models/weights/ner/run_config.json")
    assert stage6.base_model == "runs/ner-lexicon-more" and ran.base_model == "runs/stage5"  # stage 5, from git
    assert ran.model_dump(exclude=skip) == stage6.model_dump(exclude=skip)
    # stage 5's recipe plus FGM, on train + dev, with steps scaled by the data (978 / 807 articles)
    same = skip | {"data", "dev", "max_steps", "adversarial_epsilon"}
    assert stage6.model_dump(exclude=same) == stage5.model_dump(exclude=same) and stage6.dev is None
    assert stage6.data == ["news:train", "news:dev"] and stage6.max_steps == round(stage5.max_steps * 978 / 807, -1)
    assert stage6.adversarial_epsilon == 1.0 and stage5.adversarial_epsilon == 0
    # its train-only twin, which dev scored (docs/results/2026-12-04-fgm/dev_ner_stage6_fgm.json), and the twin without FGM
    twin = NerRunConfig.load(ROOT / "configs" / "experiments" / "ner-stage6-fgm.toml")
    assert twin.model_dump(exclude=same - {"adversarial_epsilon"}) == stage6.model_dump(exclude=same - {"adversarial_epsilon"})
    assert twin.data == ["news:train"] and twin.dev == "news:dev" and twin.max_steps == stage5.max_steps
    plain = NerRunConfig.load(ROOT / "configs" / "experiments" / "ner-stage6-plain.toml")
    assert plain.model_dump(exclude={"output", "adversarial_epsilon"}) == twin.model_dump(exclude={"output", "adversarial_epsilon"})
    assert plain.adversarial_epsilon == 0
    # issue 10's lexicon comparison: the two rows differ only in the features
    rows = [NerRunConfig.load(ROOT / "configs" / "experiments" / f"ner-stage3-{k}.toml") for k in ("crf", "lexicon")]
    assert rows[1].lexicon and not rows[0].lexicon
    assert rows[0].model_dump(exclude={"output", "lexicon"}) == rows[1].model_dump(exclude={"output", "lexicon"})


def test_cli_trains_from_a_config_with_flag_overrides(tmp_path):
    doc = {"id": "t1", "text": "重庆新建项目总投资6亿元。",
           "entities": [{"id": "e1", "start": 0, "end": 2, "label": "LOC", "text": "重庆"}]}
    (tmp_path / "d.jsonl").write_text(json.dumps(doc, ensure_ascii=False) + "\n", encoding="utf-8")
    (tmp_path / "run.toml").write_text(
        f'data = ["{tmp_path / "d.jsonl"}*4"]\ndev = "none"\nbase_model = "random:small"\nmax_steps = 50\n'
        f'batch_size = 2\nmax_len = 32\noutput = "{tmp_path / "ner"}"\n', encoding="utf-8")
    r = runner.invoke(app, ["train", "ner", "--config", str(tmp_path / "run.toml"), "--max-steps", "2"])
    assert r.exit_code == 0, r.output
    saved = json.loads((tmp_path / "ner" / "run_config.json").read_text(encoding="utf-8"))
    assert saved["max_steps"] == 2 and saved["dev"] is None and saved["base_model"] == "random:small"
    assert json.loads((tmp_path / "ner" / "train_metrics.json").read_text(encoding="utf-8"))["steps"] == 2


def test_shipped_head_configs_are_the_bundled_heads_recipes():
    from zhie.training.train_relation_head import HeadRunConfig

    skip = {"output", "provenance", "ner_model"}  # the NER run each head read

    def recorded(name: str) -> HeadRunConfig:  # read through the class: options added since take their defaults
        ran = json.loads((ROOT / "models/weights/ner" / name).read_text(encoding="utf-8"))
        return HeadRunConfig(**{k: v for k, v in ran.items() if k not in skip})

    stage5 = HeadRunConfig.load(ROOT / "configs" / "re-head.toml")
    assert recorded("stage5_relation_head_run_config.json").model_dump(mode="json", exclude=skip) == \
        stage5.model_dump(mode="json", exclude=skip)
    assert stage5.model_dump(exclude={"output", "ner_model"}) == HeadRunConfig().model_dump(exclude={"output", "ner_model"})
    bundled = HeadRunConfig.load(ROOT / "configs" / "re-head-train-dev.toml")
    assert recorded("relation_head_run_config.json").model_dump(mode="json", exclude=skip) == \
        bundled.model_dump(mode="json", exclude=skip)
    # stage 5's recipe on train + dev, with fixed thresholds (chosen on dev by the same head on stage 6's train-only
    # twin, configs/experiments/ner-stage6-fgm.toml: MODEL_CARD.md)
    assert bundled.thresholds and set(bundled.thresholds) == {"project_amount", "project_location"} and bundled.dev is None
    same = skip | {"data", "dev", "thresholds"}
    assert bundled.model_dump(exclude=same) == stage5.model_dump(exclude=same)
    head = json.loads((ROOT / "models/weights/ner/relation_head.json").read_text(encoding="utf-8"))
    assert head["thresholds"] == bundled.thresholds


def test_the_student_recipe_is_what_ran():
    """configs/experiments/ner-student-ft.toml repeats the recorded run (docs/BENCHMARKS.md's student row): the
    stage-6 twin's recipe on the GPU student, 300 steps on the train split only; and the GPU run's own config
    is the L3/H384 student of the bundled teacher on saved windows."""
    from zhie.training.distil import DistilRunConfig
    from zhie.training.train_relation_head import HeadRunConfig

    results = ROOT / "docs" / "results" / "2026-12-04-device-distil"
    shipped = NerRunConfig.load(ROOT / "configs" / "experiments" / "ner-student-ft.toml")
    ran = NerRunConfig.load(results / "run_config_l3h384_ft.json")
    assert shipped.model_dump() == ran.model_dump()
    twin = NerRunConfig.load(ROOT / "configs" / "experiments" / "ner-stage6-fgm.toml")
    recipe = {"output", "base_model", "max_steps", "max_minutes"}
    assert shipped.model_dump(exclude=recipe) == twin.model_dump(exclude=recipe) and shipped.data == ["news:train"]
    # its train + dev version: stage 6's scaling of the steps, and the head with the thresholds its twin chose on dev
    both = NerRunConfig.load(ROOT / "configs" / "experiments" / "ner-student-train-dev.toml")
    scaled = {"output", "data", "dev", "max_steps", "max_minutes"}
    assert both.model_dump(exclude=scaled) == shipped.model_dump(exclude=scaled) and both.dev is None
    assert both.data == ["news:train", "news:dev"] and both.max_steps == round(shipped.max_steps * 978 / 807, -1)
    head = HeadRunConfig.load(ROOT / "configs" / "experiments" / "re-head-student-train-dev.toml")
    chosen = json.loads((results / "relation_train_metrics_l3h384_ft.json").read_text(encoding="utf-8"))["dev"]
    assert head.thresholds == chosen["thresholds"] and head.ner_model == Path(both.output)
    student = DistilRunConfig.load(results / "run_config_l3h384.json")
    assert (student.student_layers, student.student_hidden, student.teacher) == (3, 384, Path("/tmp/zhie-distil/teacher"))
    assert student.windows is not None and student.dev is None


def test_the_pruned_student_recipe_is_what_ran():
    """configs/experiments/ner-pruned-*.toml repeat the recorded runs (docs/BENCHMARKS.md's pruned rows): the
    L3/H384 students width-pruned to L3/H256 and distilled on the CPU, then the same recipe as the L3/H384
    student's, train-only and on train + dev; the train + dev head with the thresholds its twin chose on dev."""
    from zhie.training.distil import DistilRunConfig
    from zhie.training.train_relation_head import HeadRunConfig

    results = ROOT / "docs" / "results" / "2026-12-04-pruned"
    experiments = ROOT / "configs" / "experiments"
    ft = NerRunConfig.load(experiments / "ner-pruned-ft.toml")
    assert ft.model_dump() == NerRunConfig.load(results / "run_config_pruned_ft.json").model_dump()
    l3h384 = NerRunConfig.load(experiments / "ner-student-ft.toml")
    assert ft.model_dump(exclude={"output", "base_model"}) == l3h384.model_dump(exclude={"output", "base_model"})
    both = NerRunConfig.load(experiments / "ner-pruned-train-dev.toml")
    l3h384_both = NerRunConfig.load(experiments / "ner-student-train-dev.toml")
    assert both.model_dump(exclude={"output", "base_model"}) == l3h384_both.model_dump(exclude={"output", "base_model"})
    head = HeadRunConfig.load(experiments / "re-head-pruned-train-dev.toml")
    chosen = json.loads((results / "relation_train_metrics_pruned_ft.json").read_text(encoding="utf-8"))["dev"]
    assert head.thresholds == chosen["thresholds"] and head.ner_model == Path(both.output)
    alone = DistilRunConfig.load(results / "run_config_prune_l3h256.json")
    assert (alone.student_layers, alone.student_hidden, alone.student_heads, alone.student_intermediate) == (3, 256, 4, 1024)
    assert alone.prune_from == Path(l3h384.output) and Path(ft.base_model) == alone.output
    assert alone.unlabelled_windows == 24000 and alone.windows is not None
    td = DistilRunConfig.load(results / "run_config_prune_td.json")
    differ = {"output", "prune_from", "dev", "max_minutes", "provenance"}
    assert td.model_dump(exclude=differ) == alone.model_dump(exclude=differ)
    assert td.prune_from == Path("models/weights/ner-fast") and Path(both.base_model) == td.output
    assert both.model_dump() == NerRunConfig.load(results / "run_config_pruned_train_dev.json").model_dump()
    ran_head = json.loads((results / "relation_head_run_config_pruned_train_dev.json").read_text(encoding="utf-8"))
    assert ran_head["thresholds"] == head.thresholds and ran_head["data"] == head.data
