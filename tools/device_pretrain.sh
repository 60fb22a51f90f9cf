#!/usr/bin/env bash
# Issue 3, the one GPU run: pretrain the "base" compact Chinese BERT for MINUTES minutes of training and
# leave in $OUT what must come back (7 files, each under 16 MiB):
#   $OUT/pretrain.log                                  this script's and the trainer's output
#   $OUT/model/config.json, model.safetensors.index.json, model-0000{1,2,3}-of-00003.safetensors (fp16)
#   $OUT/model/pretrain_metrics.json                   steps, tokens, epochs, hours, hardware, losses
# The trainer rewrites $OUT/model at start-up (fail fast), at every checkpoint (3 min) and at the end,
# so a run that fails or is cut after training began still returns the latest weights and metrics.
# Tokenizer files are not returned (file limit); they are rebuilt from the repo's vocab, identically:
#   python -c "from models.tokenizer import tokenizer_from_vocab as t; t().save_pretrained('DIR')"
#
#   usage: tools/device_pretrain.sh MINUTES [extra training.pretrain args, e.g. --batch-size 512]
#   needs: the corpus in .device/corpus (carried), OUT set by the device runner
#   env:   CORPUS, WORK (checkpoint dir), PYTHON, GRACE_S (seconds allowed beyond MINUTES, default 90)
#   exit:  the trainer's code; 3 = stopped at the inner limit (saved), 4 = killed 30 s after it
set -euo pipefail
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

MINUTES=${1:?usage: tools/device_pretrain.sh MINUTES [extra training.pretrain args]}
shift
: "${OUT:?OUT must name the folder whose files come back}"
CORPUS=${CORPUS:-.device/corpus}
WORK=${WORK:-/tmp/zhie-pretrain}       # checkpoint + fp32 model: stays on the machine
PY=${PYTHON:-python3}
GRACE_S=${GRACE_S:-90}                # start-up + final checkpoint/export/eval after the training budget
LOG="$OUT/pretrain.log"
mkdir -p "$OUT" "$WORK"

{
  echo "== $(date -u +%FT%TZ) tools/device_pretrain.sh $MINUTES $*"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "nvidia-smi failed"
  "$PY" -c "import sys, torch, transformers, numpy, safetensors; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'transformers', transformers.__version__)"
  ls -l "$CORPUS"
} 2>&1 | tee "$LOG"

# SIGTERM after MINUTES + GRACE_S makes the trainer stop, checkpoint, export and evaluate; SIGKILL 30 s later.
LIMIT_S=$(awk -v m="$MINUTES" -v g="$GRACE_S" 'BEGIN { printf "%d", m * 60 + g }')
rc=0
timeout --signal=TERM --kill-after=30 "$LIMIT_S" \
  "$PY" -m training.pretrain --corpus "$CORPUS" --preset base --output-dir "$WORK" \
  --max-minutes "$MINUTES" --export-fp16 "$OUT/model" "$@" 2>&1 | tee -a "$LOG" || rc=$?

case "$rc" in  # the runner reads 124/137 as its own time-out: report the inner limit apart
  124) echo "== trainer hit the inner limit of ${LIMIT_S}s (stopped by SIGTERM, saved)" | tee -a "$LOG"; rc=3 ;;
  137) echo "== trainer killed 30s after the inner limit of ${LIMIT_S}s" | tee -a "$LOG"; rc=4 ;;
esac
{
  rm -rf "$OUT/model.partial"    # an export interrupted by SIGKILL: never return half a model
  if [ ! -f "$OUT/model/pretrain_metrics.json" ] && [ -f "$WORK/pretrain_metrics.json" ]; then
    cp "$WORK/pretrain_metrics.json" "$OUT/model/" 2>/dev/null || true
  fi
  echo "== exit code $rc; files for return:"
  find "$OUT" -type f -printf '%s\t%p\n' | sort -k2
  n_files=$(find "$OUT" -type f | wc -l)
  too_big=$(find "$OUT" -type f -size +16777215c | wc -l)
  [ "$n_files" -le 8 ] || echo "WARNING: $n_files files in OUT (at most 8 come back)"
  [ "$too_big" -eq 0 ] || echo "WARNING: $too_big files over 16 MiB"
} 2>&1 | tee -a "$LOG"
exit "$rc"
