# Sourced first by the accelerator scripts (before tools/device_lib.sh, so that its output is logged too): the
# work and return folders, everything from here on also in $OUT/run.log, and the GPU named.
#   usage: W=WORK_DIR; source tools/device_start.sh SCRIPT_NAME ARGS...     (sets S=$W/stage)
S=$W/stage
mkdir -p "$OUT" "$W" "$S"
exec > >(tee -a "$OUT/run.log") 2>&1
echo "== $(date -u +%FT%TZ) $*"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
