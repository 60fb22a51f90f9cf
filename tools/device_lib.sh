# Shared by the accelerator scripts: environment, carried wheels, and one NER fine-tuning run.
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export ZHIE_SHARED_DATA=$PWD/.device/shared/data ZHIE_PEOPLES_DAILY=$PWD/.device/shared/199801.txt
PY=${PYTHON:-python3}
if ! $PY -c "import pydantic, seqeval" 2>/dev/null; then
  $PY -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
fi

ner() {  # NAME BASE DATA-SPEC...   (uses W, DEV, STEPS, NER_MIN)
  local name=$1 base=$2; shift 2
  local args=()
  for d in "$@"; do args+=(--data "$d"); done
  $PY -c "import typer; from zhie.train_cmd import train_ner_cmd; typer.run(train_ner_cmd)" -o "$W/$name" --base-model "$base" \
    --dev "$DEV" --max-steps "$STEPS" --batch-size 32 --max-minutes "$NER_MIN" "${args[@]}" > "$W/$name.log" 2>&1
  echo "== $name exit $? $(date -u +%T)"; tail -n 12 "$W/$name.log"
}

pack_ner() {  # SRC DST [fp16]: reports (+ the model in fp16 shards when asked) into the return stage
  mkdir -p "$2" && cp "$1"/*.json "$2"/ && cp "$1.log" "$2/train.log"
  if [ "${3:-}" = fp16 ]; then
    $PY -c "import sys, torch; from transformers import AutoModelForTokenClassification as A; A.from_pretrained(sys.argv[1], dtype=torch.float32).half().save_pretrained(sys.argv[2], max_shard_size='15MB')" "$1" "$2"
  fi
}
