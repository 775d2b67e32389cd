#!/usr/bin/env bash
# Commit a registration's runs as they stand, so that a later session resumes them: runs/ is ignored,
# and a session may start from a fresh checkout that holds only what is committed.
#   bash scripts/save_training_progress.sh r1
# A training run in progress is stopped just after an epoch's last write (its line in training_log.csv),
# so no backup is caught half-written; start it again with the command this prints.
set -euo pipefail
cd "$(dirname "$0")/.."
registration="${1:?usage: save_training_progress.sh REGISTRATION (e.g. r1)}"
runs="runs/$registration"
[[ -d $runs ]] || { echo "save_training_progress: $runs does not exist" >&2; exit 1; }

trainer="scripts.train_candidates $registration"
alive() { kill -0 "$1" 2>/dev/null && [[ $(ps -o stat= -p "$1" 2>/dev/null) != Z* ]]; }  # a zombie has stopped
if pid=$(pgrep -n -f "$trainer( |\$)"); then
    while alive "$pid"; do
        log=$(ls -t "$runs"/*/training_log.csv 2>/dev/null | head -1 || true)
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

git add -f "$runs"
if git diff --cached --quiet -- "$runs"; then
    echo "nothing new in $runs since the last commit"
else
    git commit -q -m "Training progress of registration $registration: its runs as they stand, to resume from" -- "$runs"
    git log --oneline -1
fi
echo "resume: nohup .venv/bin/python -m $trainer --data data/fer2013 > logs/$registration.out 2>&1 &"
