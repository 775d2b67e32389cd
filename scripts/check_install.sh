#!/usr/bin/env bash
# The wheel as a user gets it: built from this checkout, installed into fresh virtual environments outside it,
# and used from another folder.   make install-test
#  1. the base install alone (onnxruntime, no TensorFlow): fer predict on a photo, a folder and a video;
#  2. with the train extra: the same predictions on the Keras path must give the same labels and boxes, and
#     probabilities within 1e-4; evaluate, train and load_pretrained work.
# Fails if any command fails, the wheel is 30 MB or more, or the installed package names the repository's layout.
set -euo pipefail
checkout="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
bash "$checkout/scripts/copy_checkout.sh" "$work/source"  # never built in the checkout: no stale build/
python3 -m venv "$work/base"
"$work/base/bin/pip" install --quiet --upgrade pip
"$work/base/bin/pip" wheel --quiet --no-deps --wheel-dir "$work/dist" "$work/source"
wheel="$(ls "$work"/dist/*.whl)"
size=$(stat -c %s "$wheel")
echo "wheel: $(basename "$wheel"), $((size / 1000)) kB"
((size < 30000000)) || { echo "the wheel is 30 MB or more" >&2; exit 1; }
"$work/base/bin/pip" install --quiet "$wheel"

cd "$work"
mkdir photos
cp "$checkout/docs/astronaut.jpg" "$checkout/tests/no_face_cat.jpg" photos/
"$work/base/bin/python" - "$checkout/docs/astronaut.jpg" <<'PYTHON'
import sys

import cv2

frame = cv2.imread(sys.argv[1])
writer = cv2.VideoWriter("clip.avi", cv2.VideoWriter_fourcc(*"MJPG"), 10, (frame.shape[1], frame.shape[0]))
assert writer.isOpened(), "OpenCV cannot write an MJPG video"
for index in range(12):
    writer.write(frame if index < 8 else frame[:, ::-1].copy())  # the face, then its mirror image
writer.release()
PYTHON

echo "== the base install: no TensorFlow"
if "$work/base/bin/python" -c "import tensorflow" 2>/dev/null; then
  echo "the base install has TensorFlow; it must not need it" >&2
  exit 1
fi
base="$work/base/bin/fer"
"$base" --version
for model in shipped fast; do
  "$base" predict --model "$model" "$checkout/docs/astronaut.jpg" | tee "predict_$model.txt"
  grep -q " happy " "predict_$model.txt"
done
"$base" predict photos clip.avi --csv onnx.csv --json > onnx.json
"$base" predict clip.avi --plot timeline.png --quiet > /dev/null
set +e
"$base" evaluate --data "$checkout/data/sample" > evaluate.out 2>&1
status=$?
set -e
cat evaluate.out
if ! [[ $status == 2 && $(wc -l < evaluate.out) == 1 ]] || ! grep -qF 'pip install "fer2013-study[train]"' evaluate.out; then
  echo "the base install's fer evaluate must say in one line that it needs the train extra" >&2
  exit 1
fi

echo "== with the train extra: the Keras path"
python3 -m venv "$work/full"
"$work/full/bin/pip" install --quiet --upgrade pip
"$work/full/bin/pip" install --quiet "$wheel[train]"
full="$work/full/bin/fer"
keras_file="$("$work/full/bin/python" -c "from fer.models.pretrained import pretrained_path; print(pretrained_path())")"
"$full" predict --model "$keras_file" photos clip.avi --csv keras.csv --json > keras.json
"$work/full/bin/python" - <<'PYTHON'
import json

import numpy as np
import pandas as pd

onnx, keras = json.load(open("onnx.json")), json.load(open("keras.json"))
photo_faces = [(record["path"], face) for record in onnx for face in record.get("faces", [])]
keras_faces = [(record["path"], face) for record in keras for face in record.get("faces", [])]
assert [(path, face["box"], face["label"]) for path, face in photo_faces] == [
    (path, face["box"], face["label"]) for path, face in keras_faces
], "the photos' boxes or labels differ between onnxruntime and Keras"
rows, keras_rows = pd.read_csv("onnx.csv"), pd.read_csv("keras.csv")
same = ["path", "frame", "track", "x", "y", "w", "h", "label"]
pd.testing.assert_frame_equal(rows[same], keras_rows[same])
probabilities = [column for column in rows if column.startswith("p_")]
difference = np.abs(rows[probabilities].to_numpy() - keras_rows[probabilities].to_numpy()).max()
assert difference <= 1e-4 + 1e-9, f"probabilities differ by {difference} (at most 1e-4)"
print(f"onnxruntime and Keras: {len(rows)} faces in a photo, a folder and a video; same boxes and labels; "
      f"probabilities within {difference:.0e}")
PYTHON
"$full" evaluate --data "$checkout/data/sample" --split PrivateTest > evaluate.json
"$work/full/bin/python" -c "import json; print('evaluate on the sample: n =', json.load(open('evaluate.json'))['splits']['PrivateTest']['n'])"
"$full" train --data "$checkout/data/sample" --run-dir "$work/run" --epochs 1 --max-train-images 64 > train.json
test -f "$work/run/metrics.json"
"$work/full/bin/python" -c "import fer; print('load_pretrained:', fer.load_pretrained().output_shape)"
installed="$("$work/base/bin/python" -c "import fer, pathlib; print(pathlib.Path(fer.__file__).parent)")"
if grep -rnE '__file__|parents\[|REPO_ROOT|CSV_Based_Model|Image_Based_Model|Pretrained_Model|notebooks/|scripts[./]' \
    --include='*.py' "$installed"; then
  echo "the installed package refers to the repository's layout (lines above)" >&2
  exit 1
fi
if "$work/base/bin/python" -c "import scripts" 2>/dev/null; then
  echo "the repository's scripts/ were installed with the wheel" >&2
  exit 1
fi
echo "install OK: the wheel works from $(pwd), outside the checkout"
