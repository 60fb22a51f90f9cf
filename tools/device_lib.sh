# Shared by the accelerator scripts: environment, carried wheels, the zhie namespace, and one NER fine-tuning run.
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export ZHIE_SHARED_DATA=$PWD/.device/shared/data ZHIE_PEOPLES_DAILY=$PWD/.device/shared/199801.txt
source tools/device_limits.sh
PY=${PYTHON:-python3}
if ! $PY -c "import pydantic, seqeval, typer, datasets" 2>/dev/null; then
  $PY -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
fi
# The top-level folders import as zhie.* (pyproject's package-dir mapping). Without installing the package, a
# tree of links gives the same names (paths inside the code resolve back to this checkout), and
# PYTHONSAFEPATH (Python >= 3.11) keeps the checkout's own zhie/ folder from shadowing the tree.
ZHIE_SRC=/tmp/zhie-src
mkdir -p "$ZHIE_SRC/zhie"
for f in "$PWD"/zhie/*.py; do ln -sfn "$f" "$ZHIE_SRC/zhie/"; done
for p in annotation models training inference; do ln -sfn "$PWD/$p" "$ZHIE_SRC/zhie/$p"; done
export PYTHONSAFEPATH=1 PYTHONPATH=$ZHIE_SRC${PYTHONPATH:+:$PYTHONPATH}
$PY -c "import zhie.training.run_config" || { echo "zhie does not import"; exit 1; }

zhie_verb() {  # FUNCTION ARGS...: one verb of zhie/train_cmd.py (typer and pydantic, no Label Studio)
  local verb=$1; shift
  $PY -c "import sys, typer; from zhie import train_cmd; typer.run(getattr(train_cmd, sys.argv.pop(1)))" "$verb" "$@"
}

ner() {  # NAME BASE DATA-SPEC...   (uses W, DEV, STEPS, NER_MIN)
  local name=$1 base=$2; shift 2
  local args=()
  for d in "$@"; do args+=(--data "$d"); done
  zhie_verb train_ner_cmd -o "$W/$name" --base-model "$base" \
    --dev "$DEV" --max-steps "$STEPS" --batch-size 32 --max-minutes "$NER_MIN" "${args[@]}" > "$W/$name.log" 2>&1
  echo "== $name exit $? $(date -u +%T)"; tail -n 12 "$W/$name.log"
}

pack_ner() {  # SRC DST [fp16]: reports (+ the model in fp16 shards when asked) into the return stage
  mkdir -p "$2" && cp "$1"/*.json "$2"/ && cp "$1.log" "$2/train.log"
  if [ "${3:-}" = fp16 ]; then
    $PY -c "import sys, torch; from transformers import AutoModelForTokenClassification as A; A.from_pretrained(sys.argv[1], dtype=torch.float32).half().save_pretrained(sys.argv[2], max_shard_size=sys.argv[3])" "$1" "$2" "$((MAX_FILE_MB - 1))MB"
  fi
}
