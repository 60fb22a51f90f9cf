#!/usr/bin/env bash
# The one accelerator run (issues 3 and 4): pretrain the "base" encoder, fine-tune NER three ways, pack
# the results into <= 8 files of < 16 MiB under $OUT.
#   ner-random      random init, silver + domain train   (ablation: same data and steps as ner-full)
#   ner-silver      our encoder, silver corpora only     ("earlier" model, before the domain data)
#   ner-full        our encoder, silver + domain train   (the new default)
# ner-random runs beside pretraining (small models leave the GPU mostly idle); the other two after it.
#
#   usage: OUT=... tools/device_run.sh PRETRAIN_MINUTES NER_STEPS NER_MAX_MINUTES
#   env:   PRESET (base|small), RUNS (subset of "random silver full"),
#          PRETRAIN_EXTRA, NER_DATA (space-separated SPECs), NER_SILVER, DEV (overrides for a CPU dry run)
#   needs: .device/corpus (tools/device_corpus.sh), .device/shared (news_raw, cluener, fewfc, 199801.txt), .whl (carried)
set -uo pipefail
MIN=${1:?pretrain minutes}; STEPS=${2:?ner steps}; NER_MIN=${3:?ner minutes}
: "${OUT:?OUT must be set}"
NER_DATA=${NER_DATA:-"news:train*4 cluener fewfc pd:4000"}
NER_SILVER=${NER_SILVER:-"cluener fewfc pd:4000"}
DEV=${DEV:-news:dev}
PRESET=${PRESET:-base}
RUNS=${RUNS:-"random silver full"}
W=${WORK:-/tmp/zhie-run}
source tools/device_start.sh device_run "$@"
source tools/device_lib.sh

want() { [[ " $RUNS " == *" $1 "* ]]; }
pids=()
if want random; then ner ner-random "random:$PRESET" $NER_DATA & pids+=($!); fi
zhie_verb pretrain --corpus .device/corpus --preset "$PRESET" --output-dir "$W/encoder" \
  --max-minutes "$MIN" --export-max-file-mb "$MAX_FILE_MB" ${PRETRAIN_EXTRA:-}
echo "== pretrain exit $? $(date -u +%T)"
ls -la "$W/encoder"
if want silver; then ner ner-silver "$W/encoder" $NER_SILVER & pids+=($!); fi
if want full; then ner ner-full "$W/encoder" $NER_DATA & pids+=($!); fi
wait "${pids[@]}"   # by pid: a bare wait would also wait for the tee above

# pack (64 MiB may return): the new default NER model in fp16 with its tokenizer and reports, metrics of the
# others, and the encoder in per-row int8 (tools/transport.py)
if want full; then pack_ner "$W/ner-full" "$S/ner-full" fp16; fi
if want silver; then pack_ner "$W/ner-silver" "$S/ner-silver"; fi
if want random; then pack_ner "$W/ner-random" "$S/ner-random"; fi
mkdir -p "$S/encoder" && cp "$W"/encoder/*.json "$S/encoder/" && $PY tools/transport.py pack "$W/encoder" "$S/encoder/q8.safetensors"
tar -C "$S" -czf "$W/pack.tgz" . && split -b 15m -d "$W/pack.tgz" "$OUT/pack.tgz.part-"
ls -la "$OUT"; echo "== done $(date -u +%T)"
