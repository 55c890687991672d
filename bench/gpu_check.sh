#!/usr/bin/env bash
# GPU check for the training side: on a machine with CUDA, run the tests that need CUDA, the
# trainer bench on CUDA, and (with two or more GPUs) a 2-GPU torchrun; print one JSON line last.
# Usage: bash bench/gpu_check.sh [python]   (default: .venv/bin/python if present, else python3)
set -u
cd "$(dirname "$0")/.."
PY="${1:-$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
OUT="$(mktemp -d)"
GPUS="$("$PY" -c 'import torch; print(torch.cuda.device_count() if torch.cuda.is_available() else 0)')"
if [ "$GPUS" = "0" ]; then echo '{"error": "no CUDA device"}'; exit 1; fi
"$PY" -m pytest tests/test_training_processes.py -q -k cuda -p no:cacheprovider >"$OUT/tests.txt" 2>&1
TESTS_RC=$?
"$PY" bench/bench_train.py --device cuda --repeats 3 --batches 100 >"$OUT/bench.txt" 2>&1
BENCH_RC=$?
DDP_RC=-1
if [ "$GPUS" -ge 2 ]; then
  "$PY" -m torch.distributed.run --standalone --nproc_per_node 2 -m lossviz train --synthetic --device cuda \
    --max-batches 50 --batch-size 256 --runs-dir "$OUT/runs" --name ddp2 --quiet >"$OUT/ddp.txt" 2>&1
  DDP_RC=$?
fi
"$PY" - "$OUT" "$GPUS" "$TESTS_RC" "$BENCH_RC" "$DDP_RC" <<'PYEOF'
import json, sys
from pathlib import Path
out, gpus, tests_rc, bench_rc, ddp_rc = Path(sys.argv[1]), int(sys.argv[2]), *map(int, sys.argv[3:6])
tail = (out / "tests.txt").read_text().strip().splitlines()
bench = (out / "bench.txt").read_text().strip().splitlines()
result = {"gpus": gpus, "tests_rc": tests_rc, "tests": tail[-1] if tail else "", "bench_rc": bench_rc}
try:
    result["bench"] = json.loads(bench[-1])
except (IndexError, ValueError):
    result["bench_tail"] = bench[-5:]
if ddp_rc != -1:
    result["ddp2_rc"] = ddp_rc
    summary = out / "runs" / "ddp2" / "summary.json"
    if summary.exists():
        s = json.loads(summary.read_text())
        result["ddp2"] = {k: s.get(k) for k in ("status", "steps", "images_per_s", "world_size")}
print(json.dumps(result))
PYEOF
