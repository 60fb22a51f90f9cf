#!/usr/bin/env bash
# The accelerator run of issue 12: distil the bundled NER model into small students, side by side on the one
# GPU (small models leave it mostly idle), each under the same time budget, on windows built on the CPU
# machine (tools/device_distil_prep.sh: the text work needs the corpora, jieba and jionlp, which stay here).
#
#   usage: OUT=... tools/device_distil.sh TRAIN_MINUTES DEADLINE_SECONDS "NAME:LAYERS:HIDDEN:LR[:prune] ..."
#          (:prune starts that student as the teacher width-pruned to its size: hidden / 64 heads, 4 x hidden neurons)
#   env:   BATCH (128), WORKERS (dataloader processes per student, 2), THREADS (torch CPU threads per student, 4),
#          SAVE_MINUTES (1), PYTHON,
#          DISTIL_DATA (.device/distil: windows.tar.xz, teacher.q8.safetensors, teacher/), WORK
#   needs: DISTIL_DATA and .whl (carried)
# Every student ends by DEADLINE_SECONDS after the start (killed there if still running: its last checkpoint is
# packed instead); what comes back: the students in fp16 with their reports, split into parts of < 16 MiB.
set -uo pipefail
MIN=${1:?train minutes}; DEADLINE=$((SECONDS + ${2:?deadline seconds})); STUDENTS=${3:?students}
: "${OUT:?OUT must be set}"
BATCH=${BATCH:-128}; WORKERS=${WORKERS:-2}; SAVE_MINUTES=${SAVE_MINUTES:-1}; THREADS=${THREADS:-4}; D=${DISTIL_DATA:-.device/distil}
W=${WORK:-/tmp/zhie-distil}
source tools/device_start.sh device_distil "$@"
source tools/device_lib.sh
# datasets' newest wheel wants a recent pyarrow; with an older one there, the fallback set (datasets 4.0) goes in
if ! $PY -c "import datasets, pyarrow; print('datasets', datasets.__version__, 'pyarrow', pyarrow.__version__)"; then
  $PY -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site .whl/fallback/*.whl
  $PY -c "import datasets, pyarrow; print('fallback datasets', datasets.__version__, 'pyarrow', pyarrow.__version__)" || exit 1
fi

tar -C "$W" -xJf "$D/windows.tar.xz" || exit 1
mkdir -p "$W/teacher" && cp "$D"/teacher/* "$W/teacher/" &&
  $PY tools/transport.py unpack "$D/teacher.q8.safetensors" "$W/teacher" || exit 1
echo "== windows and teacher ready $(date -u +%T)"

pids=(); names=()
for spec in $STUDENTS; do
  IFS=: read -r name layers hidden lr init <<< "$spec"
  prune=(); [ "${init:-}" = prune ] && prune=(--prune-from "$W/teacher")
  timeout $((DEADLINE - SECONDS)) $PY -c "import sys, typer; from zhie import train_cmd; typer.run(train_cmd.train_distil_cmd)" \
    -o "$W/$name" --teacher "$W/teacher" --windows "$W/windows" --dev none --student-layers "$layers" \
    --student-hidden "$hidden" "${prune[@]}" --lr "$lr" --batch-size "$BATCH" --max-minutes "$MIN" --save-minutes "$SAVE_MINUTES" \
    --dataloader-workers "$WORKERS" --threads "$THREADS" --export-fp16 "$S/$name" > "$W/$name.log" 2>&1 &
  pids+=($!); names+=("$name")
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}"; rc=$?; name=${names[$i]}
  echo "== $name exit $rc $(date -u +%T)"
  if [ ! -f "$S/$name/model.safetensors" ]; then  # killed at the deadline: its last checkpoint, in fp16
    last=$(ls -d "$W/$name"/checkpoints/checkpoint-* 2>/dev/null | sort -t- -k2 -n | tail -1)
    [ -n "$last" ] && $PY -c "import sys; from pathlib import Path; from zhie.training.train_re import export_fp16; export_fp16(*map(Path, sys.argv[1:]))" "$last" "$S/$name" &&
      cp "$W/$name"/run_config.json "$S/$name/" && echo "== $name: packed $last"
  fi
  mkdir -p "$S/$name" && tr '\r' '\n' < "$W/$name.log" | grep -v 's\]$' > "$S/$name/train.log"  # without progress bars
  tail -n 6 "$S/$name/train.log"
done
tar -C "$S" -cf "$W/students.tar" . && split -b 15m -d "$W/students.tar" "$OUT/students.tar.part-"
ls -la "$OUT"; echo "== done $(date -u +%T)"
