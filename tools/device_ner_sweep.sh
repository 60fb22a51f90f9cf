#!/usr/bin/env bash
# A second, shorter accelerator run: fine-tune NER from the committed encoder (models/weights/encoder)
# with more domain weight and steps, two data mixes side by side; the dev split picks one, whose model
# (fp16) comes back with both reports.
#   usage: OUT=... tools/device_ner_sweep.sh NER_STEPS NER_MAX_MINUTES
#   needs: .device/shared, .whl (carried)
set -uo pipefail
STEPS=${1:?ner steps}; NER_MIN=${2:?ner minutes}
: "${OUT:?OUT must be set}"
DEV=${DEV:-news:dev}
W=${WORK:-/tmp/zhie-sweep}
source tools/device_start.sh device_ner_sweep "$@"
source tools/device_lib.sh
ner ner-news10-pd models/weights/encoder "news:train*10" cluener fewfc pd:4000 &
A=$!
ner ner-news10 models/weights/encoder "news:train*10" cluener fewfc &
wait "$A" $!
BEST=$($PY -c "import json, sys; f=lambda n: json.load(open(f'$W/{n}/dev_report.json'))['entities']['micro avg']['f1-score']; print(max(sys.argv[1:], key=f))" ner-news10-pd ner-news10)
echo "== best on dev: $BEST"
for n in ner-news10-pd ner-news10; do pack_ner "$W/$n" "$S/$n" $([ "$n" = "$BEST" ] && echo fp16); done
tar -C "$S" -czf "$W/pack.tgz" . && split -b 15m -d "$W/pack.tgz" "$OUT/sweep.tgz.part-"
ls -la "$OUT"; echo "== done $(date -u +%T)"
