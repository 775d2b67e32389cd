#!/usr/bin/env bash
# The wheel as a user gets it: built from this checkout, installed into a fresh virtual environment
# outside it, and used from another folder. Fails if any command fails or the installed package
# names the repository's layout.   make install-test
set -euo pipefail
checkout="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --upgrade pip
bash "$checkout/scripts/copy_checkout.sh" "$work/source"  # never built in the checkout: no stale build/
"$work/venv/bin/pip" wheel --quiet --no-deps --wheel-dir "$work/dist" "$work/source"
"$work/venv/bin/pip" install --quiet "$work"/dist/*.whl
cd "$work"
fer="$work/venv/bin/fer"
"$fer" --version
for model in shipped fast; do
  "$fer" predict --model "$model" "$checkout/docs/astronaut.jpg" | tee "predict_$model.txt"
  grep -q " happy " "predict_$model.txt"
done
"$fer" evaluate --data "$checkout/data/sample" --split PrivateTest > evaluate.json
"$work/venv/bin/python" -c "import json; print('evaluate on the sample: n =', json.load(open('evaluate.json'))['splits']['PrivateTest']['n'])"
"$fer" train --data "$checkout/data/sample" --run-dir "$work/run" --epochs 1 --max-train-images 64 > train.json
test -f "$work/run/metrics.json"
"$work/venv/bin/python" -c "import fer; print('load_pretrained:', fer.load_pretrained().output_shape)"
installed="$("$work/venv/bin/python" -c "import fer, pathlib; print(pathlib.Path(fer.__file__).parent)")"
if grep -rnE '__file__|parents\[|REPO_ROOT|CSV_Based_Model|Image_Based_Model|Pretrained_Model|notebooks/|scripts[./]' \
    --include='*.py' "$installed"; then
  echo "the installed package refers to the repository's layout (lines above)" >&2
  exit 1
fi
if "$work/venv/bin/python" -c "import scripts" 2>/dev/null; then
  echo "the repository's scripts/ were installed with the wheel" >&2
  exit 1
fi
echo "install OK: the wheel works from $(pwd), outside the checkout"
