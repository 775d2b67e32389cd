#!/usr/bin/env bash
# Commit registrations' runs as they stand, so that a later session resumes them: runs/ is ignored,
# and a session may start from a fresh checkout that holds only what is committed.
#   bash scripts/save_training_progress.sh r1 r2
# commits runs/r1 and runs/r2; this checkout's trainer (python -m scripts.train_candidates, whatever its
# registrations, run from this folder) is stopped first.
# A training run in progress is stopped just after an epoch's last write (its line in training_log.csv),
# so no backup is caught half-written; start it again with the command this prints.
set -euo pipefail
cd "$(dirname "$0")/.."
(($#)) || { echo "usage: save_training_progress.sh REGISTRATION... (e.g. r1 r2)" >&2; exit 1; }
runs=()
for registration in "$@"; do [[ -d runs/$registration ]] && runs+=("runs/$registration"); done
((${#runs[@]})) || { echo "save_training_progress: none of runs/{$(IFS=,; echo "$*")} exists" >&2; exit 1; }

resume="nohup .venv/bin/python -m scripts.train_candidates $* --data data/fer2013 > logs/training.out 2>&1 &"
alive() { kill -0 "$1" 2>/dev/null && [[ $(ps -o stat= -p "$1" 2>/dev/null) != Z* ]]; }  # a zombie has stopped
here=$(pwd -P)
pid=$(for candidate in $(pgrep -f "scripts\.train_candidates( |\$)" || true); do
    if [[ $(readlink "/proc/$candidate/cwd" 2>/dev/null) == "$here" && $(ps -o args= -p "$candidate") != *--progress* ]]; then
        echo "$candidate"
    fi
done | tail -1)
if [[ -n $pid ]]; then
    resume="nohup $(ps -o args= -p "$pid") > logs/training.out 2>&1 &"
    while alive "$pid"; do
        log=$(ls -t runs/*/*/training_log.csv 2>/dev/null | head -1 || true)
        if [[ -n $log ]]; then
            logged=$(wc -l <"$log" 2>/dev/null || echo 0)
            while alive "$pid" && [[ -f $log && $(wc -l <"$log") == "$logged" ]]; do sleep 1; done
            epochs=$(python3 -c "import json, sys; print(json.load(open(sys.argv[1]))['epochs'])" "$(dirname "$log")/config.json")
            # After the last epoch's line the run writes its results; stop only between epochs.
            if [[ -f $log ]] && (($(wc -l <"$log") - 1 < epochs)); then break; fi
        fi
        sleep 5
    done
    kill "$pid" 2>/dev/null || true
    while alive "$pid"; do sleep 1; done
    if [[ -f ${log:-} ]]; then echo "stopped training: $(dirname "$log") has $(($(wc -l <"$log") - 1)) epochs logged"; fi
fi

git add -f "${runs[@]}"
if git diff --cached --quiet -- "${runs[@]}"; then
    echo "nothing new in ${runs[*]} since the last commit"
else
    git commit -q -m "Training progress of registrations $*: their runs as they stand, to resume from" -- "${runs[@]}"
    git log --oneline -1
fi
echo "resume: $resume"
