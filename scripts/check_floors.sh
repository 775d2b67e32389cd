#!/usr/bin/env bash
# The dependency floors, tested: install fer into a fresh virtual environment with every dependency at the
# LOWEST version pyproject.toml allows, then use it from a folder outside the checkout.   make floors
#
# The pins are read from pyproject.toml itself (each `name>=X` becomes `name==X`, environment markers kept),
# so this check cannot disagree with it. It fails if a floor is not a release with a wheel for this Python,
# cannot be installed together with the others, or does not work. PYTHON picks the interpreter (python3).
set -euo pipefail
started=$SECONDS
checkout="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"
work="$(mktemp -d "${TMPDIR:-/tmp}/fer-floors.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# The floors as constraints files: one `name==X [; marker]` line per dependency, of the base install alone
# (base.txt), with the demo extra (demo.txt), and with the train and notebooks extras (floors.txt); the dev extra is
# not pinned.
floors() {
"$python" - "$checkout/pyproject.toml" "$@" <<'EOF'
import re
import sys
import tomllib

with open(sys.argv[1], "rb") as handle:
    project = tomllib.load(handle)["project"]
extras = [item for extra in sys.argv[2:] for item in project["optional-dependencies"][extra]]
requirements = project["dependencies"] + extras
unbounded = []
for requirement in requirements:
    spec, _, marker = requirement.partition(";")
    name, specifiers = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(.*?)\s*", spec).groups()
    floor = re.search(r"(?:>=|~=|===?)\s*([^,\s]+)", specifiers)
    if floor is None:
        unbounded.append(requirement)
        continue
    print(f"{name}=={floor[1]}" + (f" ; {marker.strip()}" if marker.strip() else ""))
if unbounded:
    sys.exit(f"pyproject.toml: no floor (>=) in {', '.join(unbounded)}: every dependency needs a tested floor")
EOF
}
floors >"$work/base.txt"
floors demo >"$work/demo.txt"
floors train notebooks >"$work/floors.txt"
names="$(cat "$work/floors.txt" "$work/demo.txt" | sed 's/==.*//' | sort -u | paste -sd, -)"
echo "== the floors in pyproject.toml, as pins ($("$python" --version))"
cat "$work/floors.txt"
grep -vxFf "$work/base.txt" "$work/demo.txt"

# Built from a copy of the checkout's files, never in the checkout itself (see copy_checkout.sh).
bash "$checkout/scripts/copy_checkout.sh" "$work/source"

echo "== the base install at its floors, in $work/base: fer predict on onnxruntime"
"$python" -m venv "$work/base"
"$work/base/bin/pip" install --quiet --upgrade pip
"$work/base/bin/pip" install --quiet --only-binary="$names" -c "$work/base.txt" "$work/source"
(cd "$work" && "$work/base/bin/fer" predict "$checkout/docs/astronaut.jpg" | tee predict_base.txt && grep -qw happy predict_base.txt)

echo "== the base install with the demo extra at their floors, in $work/demo: fer demo answers a photo"
"$python" -m venv "$work/demo"
"$work/demo/bin/pip" install --quiet --upgrade pip
"$work/demo/bin/pip" install --quiet --only-binary="$names" -c "$work/demo.txt" "$work/source[demo]"
mkdir "$work/demo-tmp"
(cd "$work" && "$work/demo/bin/python" - "$checkout/docs/astronaut.jpg" "$work/demo/bin/fer" "$work/demo-tmp" <<'EOF'
import os
import socket
import subprocess
import sys

from gradio_client import Client, handle_file

photo, fer, scratch = sys.argv[1:]
with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
server = subprocess.Popen(
    [fer, "demo", "--port", str(port)], env={**os.environ, "TMPDIR": scratch}, stdout=subprocess.PIPE, text=True
)
try:
    print(server.stdout.readline().strip())
    client = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=False)
    summary = client.predict(handle_file(photo), "shipped", api_name="/photo")[3]
finally:
    server.terminate()
    server.wait(timeout=60)
print(f"fer demo's page: {summary}")
assert summary.startswith("1 face: #1 happy"), summary
assert server.returncode == 0 and not os.listdir(scratch), "fer demo left files behind, or did not stop cleanly"
EOF
)

echo "== the base install with the train and notebooks extras at their floors, in $work/venv"
"$python" -m venv "$work/venv"
bin="$work/venv/bin"
"$bin/pip" install --quiet --upgrade pip
# --only-binary for the pinned packages: a floor must have a wheel for this Python, not build from source.
"$bin/pip" install --quiet --only-binary="$names" -c "$work/floors.txt" "$work/source[train,notebooks]"

echo "== installed versions of the pinned packages"
"$bin/python" - "$work/floors.txt" <<'EOF'
import re
import sys
from importlib import metadata

for line in open(sys.argv[1]):
    name = re.match(r"[^=\s]+", line)[0]
    try:
        print(f"{name}=={metadata.version(name)}")
    except metadata.PackageNotFoundError:
        print(f"{name}: not installed (its marker excludes this machine)")
EOF

echo "== using it from $work, outside the checkout"
cd "$work"
export FER_CACHE_DIR="$work/cache" MPLBACKEND=Agg JUPYTER_PATH="$work/venv/share/jupyter" PYDEVD_DISABLE_FILE_VALIDATION=1
"$bin/fer" --version
"$bin/python" -c "import fer; m = fer.load_pretrained(); print(m.output_shape)" | tee shape.txt
grep -qF "(None, 7)" shape.txt
"$bin/fer" predict "$checkout/docs/astronaut.jpg" | tee predict.txt
grep -qw happy predict.txt

# The other dependencies, the way fer uses them. pandas reads the CSV form; scikit-learn and scipy score it,
# with bootstrap intervals (scipy's rng argument):
"$bin/fer" evaluate --data "$checkout/data/sample/fer2013.csv" --split PrivateTest --intervals >evaluate.json
# OpenCV writes and reads a video; scipy matches faces across frames; tqdm, pandas (--csv), matplotlib (--plot):
"$bin/python" - "$checkout/docs/astronaut.jpg" <<'EOF'
import sys

import cv2

frame = cv2.imread(sys.argv[1])
writer = cv2.VideoWriter("clip.avi", cv2.VideoWriter_fourcc(*"MJPG"), 5, (frame.shape[1], frame.shape[0]))
assert writer.isOpened(), "OpenCV cannot write an MJPG video"
for _ in range(6):
    writer.write(frame)
writer.release()
EOF
"$bin/fer" predict clip.avi --csv rows.csv --plot timeline.png | tee predict_video.txt
grep -qw happy predict_video.txt
# seaborn's heatmap, statsmodels (McNemar's test; its compiled modules load with this numpy), and papermill
# running a notebook on this environment's ipykernel:
"$bin/python" - <<'EOF'
import json
import sys
from pathlib import Path

import nbformat
import pandas as pd
import papermill
import statsmodels.api  # noqa: F401
from statsmodels.stats.contingency_tables import mcnemar

from fer.plots import plot_confusion_matrix

scores = json.loads(Path("evaluate.json").read_text())["splits"]["PrivateTest"]
low, high = scores["accuracy_ci95"]
assert scores["n"] > 0 and low <= scores["accuracy"] <= high, scores
print(f"fer evaluate on the sample's PrivateTest: n={scores['n']} accuracy={scores['accuracy']:.3f} [{low:.3f}, {high:.3f}]")
rows = pd.read_csv("rows.csv")
assert len(rows) > 0 and Path("timeline.png").stat().st_size > 0, "fer predict on a video wrote no rows or plot"
print(f"fer predict on a video: {len(rows)} rows in rows.csv, timeline.png written")
plot_confusion_matrix(scores["confusion_matrix"], "confusion.png")
print(f"seaborn heatmap written; McNemar exact p = {mcnemar([[10, 2], [9, 4]], exact=True).pvalue:.4f}")
code = "import sys\nimport fer\nprint(sys.prefix)"
notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
nbformat.write(notebook, "check.ipynb")
papermill.execute_notebook("check.ipynb", "executed.ipynb", kernel_name="python3", progress_bar=False)
ran_in = nbformat.read("executed.ipynb", as_version=4).cells[0].outputs[0]["text"].strip()
assert ran_in == sys.prefix, f"the notebook ran in {ran_in}, not in {sys.prefix}"
print("papermill ran a notebook on this environment's kernel")
EOF

echo "floors OK ($((SECONDS - started)) s)"
