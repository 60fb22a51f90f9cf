#!/usr/bin/env bash
# On this (CPU) machine, before tools/device_distil.sh: the training windows (corpora, jieba and jionlp stay
# here) and the bundled NER teacher in per-row int8 (tools/transport.py), into .device/distil, to be carried.
#   usage: tools/device_distil_prep.sh [EXTERNAL_CHARS [DEST (.device/distil)]]
set -euo pipefail
PY=${PYTHON:-.venv/bin/python}
D=${2:-.device/distil}; T=$D.build
mkdir -p "$D/teacher" "$T/teacher-weights"
$PY -m zhie.cli train distil --windows-only -o "$T" --external-chars "${1:-16000000}" --dev none
tar -C "$T" -cJf "$D/windows.tar.xz" windows
cp models/weights/ner/model.safetensors "$T/teacher-weights/"  # the encoder and tagger only, not the relation head
$PY tools/transport.py pack "$T/teacher-weights" "$D/teacher.q8.safetensors"
cp models/weights/ner/{config.json,tokenizer.json,tokenizer_config.json} "$D/teacher/"
du -sh "$D"/*
