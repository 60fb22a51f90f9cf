#!/usr/bin/env bash
# The one accelerator run (issues 3 and 4): pretrain the "base" encoder, fine-tune NER three ways, pack
# the results into <= 8 files of < 16 MiB under $OUT.
#   ner-random      random init, silver + domain train   (ablation: same data and steps as ner-full)
#   ner-silver      our encoder, silver corpora only     ("earlier" model, before the domain data)
#   ner-full        our encoder, silver + domain train   (the new default)
# ner-random runs beside pretraining (small models leave the GPU mostly idle); the other two after it.
#
#   usage: OUT=... tools/device_run.sh PRETRAIN_MINUTES NER_STEPS NER_MAX_MINUTES
#   env:   PRETRAIN_EXTRA, NER_DATA (space-separated SPECs), NER_SILVER, DEV (overrides for a CPU dry run)
#   needs: .device/corpus, .device/shared (news_raw, cluener, fewfc, 199801.txt), .whl (carried)
set -uo pipefail
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export ZHIE_SHARED_DATA=$PWD/.device/shared/data ZHIE_PEOPLES_DAILY=$PWD/.device/shared/199801.txt
MIN=${1:?pretrain minutes}; STEPS=${2:?ner steps}; NER_MIN=${3:?ner minutes}
: "${OUT:?OUT must be set}"
PY=${PYTHON:-python3}
NER_DATA=${NER_DATA:-"news:train*4 cluener fewfc pd:4000"}
NER_SILVER=${NER_SILVER:-"cluener fewfc pd:4000"}
DEV=${DEV:-news:dev}
W=${WORK:-/tmp/zhie-run}; S=$W/stage
mkdir -p "$OUT" "$W" "$S"
LOG=$OUT/run.log
exec > >(tee -a "$LOG") 2>&1
echo "== $(date -u +%FT%TZ) device_run $*"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
if ! $PY -c "import pydantic, seqeval" 2>/dev/null; then
  $PY -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
fi
$PY -c "import torch, transformers, pydantic; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'transformers', transformers.__version__, 'pydantic', pydantic.__version__)"

ner() {  # name base data...
  local name=$1 base=$2; shift 2
  local args=()
  for d in "$@"; do args+=(--data "$d"); done
  $PY -c "import typer; from zhie.train_cmd import train_ner_cmd; typer.run(train_ner_cmd)" -o "$W/$name" --base-model "$base" \
    --dev "$DEV" --max-steps "$STEPS" --batch-size 32 --max-minutes "$NER_MIN" "${args[@]}" > "$W/$name.log" 2>&1
  echo "== $name exit $? $(date -u +%T)"; tail -n 12 "$W/$name.log"
}

ner ner-random random:base $NER_DATA &
RANDOM_PID=$!
$PY -m training.pretrain --corpus .device/corpus --preset base --output-dir "$W/encoder" \
  --max-minutes "$MIN" --export-fp16 "$S/encoder" ${PRETRAIN_EXTRA:-}
echo "== pretrain exit $? $(date -u +%T)"
ls -la "$W/encoder" "$S/encoder"
ner ner-silver "$W/encoder" $NER_SILVER &
SILVER_PID=$!
ner ner-full "$W/encoder" $NER_DATA &
wait "$RANDOM_PID" $! "$SILVER_PID"   # by pid: a bare wait would also wait for the tee above

# pack: the new default NER model as fp16 shards with its tokenizer and reports; metrics of the others
$PY - "$W" "$S" <<'PY'
import shutil, sys, torch
from pathlib import Path
from transformers import AutoModelForTokenClassification
w, s = Path(sys.argv[1]), Path(sys.argv[2])
for name in ("ner-full", "ner-silver", "ner-random"):
    src, dst = w / name, s / name
    if not (src / "config.json").exists():
        print("missing", src); continue
    dst.mkdir(parents=True, exist_ok=True)
    for f in src.glob("*.json"):
        shutil.copy(f, dst)
    shutil.copy(w / f"{name}.log", dst / "train.log")
    if name == "ner-full":
        m = AutoModelForTokenClassification.from_pretrained(str(src), dtype=torch.float32).half()
        m.save_pretrained(str(dst), max_shard_size="15MB")
for f in ("pretrain_metrics.json",):
    if (w / "encoder" / f).exists():
        shutil.copy(w / "encoder" / f, s / "encoder")
PY
tar -C "$S" -czf "$W/pack.tgz" . && split -b 15m -d "$W/pack.tgz" "$OUT/pack.tgz.part-"
ls -la "$OUT"; echo "== done $(date -u +%T)"
