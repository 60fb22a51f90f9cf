#!/usr/bin/env bash
# On this (CPU) machine, before an accelerator run: build the pretraining corpus into .device/corpus,
# capped to what can be carried there.   usage: tools/device_corpus.sh [WORKERS]
set -euo pipefail
source tools/device_limits.sh
PY=${PYTHON:-.venv/bin/python}
$PY -m zhie.training.corpus --out .device/corpus --workers "${1:-2}" --max-megabytes "$CORPUS_MAX_MB"
