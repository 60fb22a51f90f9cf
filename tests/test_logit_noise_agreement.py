"""benchmarks/logit_noise_agreement.py: noise of a known size in logit space, an error scale blind to per-token
constants, and a run where the teacher is its own student."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from zhie.inference.ner import TokenStates

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "logit_noise_agreement.py"
_SPEC = importlib.util.spec_from_file_location("logit_noise_agreement", SCRIPT)
lna = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(lna)


class _Fixed:
    """A backend that returns the same probabilities for any input."""

    name, num_labels, hidden_size, scales_per_call = "fixed", 11, 4, False

    def __init__(self, probs: np.ndarray) -> None:
        self.probs = probs

    def token_outputs(self, input_ids, attention_mask, hidden=False, token_type_ids=None):
        return self.probs, None


def _probs(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    z = np.exp(rng.normal(0, 1, shape))
    return z / z.sum(-1, keepdims=True)


def test_noise_has_the_asked_size_in_logit_space_and_none_at_sigma_zero():
    probs = _probs(np.random.default_rng(0), (4, 2000, 11))
    assert np.allclose(lna.NoisyBackend(_Fixed(probs), 0.0, 1).token_outputs(None, None)[0], probs, atol=1e-6)
    noisy, _ = lna.NoisyBackend(_Fixed(probs), 0.3, 1).token_outputs(None, None)
    assert np.allclose(noisy.sum(-1), 1.0, atol=1e-5)
    diff = np.log(noisy) - np.log(probs)
    diff -= diff.mean(-1, keepdims=True)
    assert abs(np.sqrt((diff ** 2).mean()) - 0.3 * np.sqrt(10 / 11)) < 0.01  # centred i.i.d. noise
    again, _ = lna.NoisyBackend(_Fixed(probs), 0.3, 1).token_outputs(None, None)
    assert np.array_equal(noisy, again)  # a seed gives the same draw


def test_error_ignores_a_constant_per_token_and_counts_changed_best_tags():
    rng = np.random.default_rng(1)
    probs = _probs(rng, (50, 11))
    shifted = np.exp(np.log(probs) + rng.normal(0, 1, (50, 1)))  # the same tags, unnormalised by another constant
    moved = probs.copy()
    moved[:10] = np.roll(moved[:10], 1, axis=-1)  # ten tokens get another best tag
    base = lna.centred_log_probs([TokenStates([], probs)])
    same = lna.logit_error(base, lna.centred_log_probs([TokenStates([], shifted / shifted.max())]))
    assert same["rms"] < 1e-4 and same["best_tag_differs"] == 0.0
    assert lna.logit_error(base, lna.centred_log_probs([TokenStates([], moved)]))["best_tag_differs"] == 0.2


def test_teacher_as_its_own_student_reproduces_everything_and_strong_noise_does_not(tiny_ner_model_dir, tmp_path):
    texts = ["苏州工业园区与某科技公司签约新能源电池项目，总投资12亿元。", "2026年3月，某县招商引资项目集中开工。"] * 3
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"id": f"t{i}", "text": t}, ensure_ascii=False) + "\n"
                                               for i, t in enumerate(texts)), encoding="utf-8")
    out = tmp_path / "noise.json"
    subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "in.jsonl"), "--teacher", str(tiny_ner_model_dir),
                    "--student", str(tiny_ner_model_dir), "--sigma", "0", "5", "--seeds", "1", "-o", str(out)],
                   check=True, capture_output=True)
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["teacher_entities"] > 0
    assert [row["mean"] for row in result["noise"]][0] == 1.0
    assert result["noise"][1]["mean"] < 1.0
    student = result["students"][0]
    assert student["reproduced"] == 1.0 and student["rms"] == 0.0
