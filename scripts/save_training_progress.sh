#!/usr/bin/env bash
# Commit registrations' runs as they stand, so that a later session resumes them: runs/ is ignored,
# and a session may start from a fresh checkout that holds only what is committed.
#   bash scripts/save_training_progress.sh r1 r2
# commits runs/r1 and runs/r2. This checkout's trainers (python -m scripts.train_candidates, whatever their
# registrations, run from this folder; not --progress) are stopped first, each just after an epoch's last write
# (its line in training_log.csv), so no backup is caught half-written; start again with the command this prints.
set -euo pipefail
cd "$(dirname "$0")/.."
(($#)) || { echo "usage: save_training_progress.sh REGISTRATION... (e.g. r1 r2)" >&2; exit 1; }
runs=()
for registration in "$@"; do [[ -d runs/$registration ]] && runs+=("runs/$registration"); done
((${#runs[@]})) || { echo "save_training_progress: none of runs/{$(IFS=,; echo "$*")} exists" >&2; exit 1; }

arguments() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || true; }  # in full, whatever the terminal width
alive() { kill -0 "$1" 2>/dev/null && [[ $(ps -o stat= -p "$1" 2>/dev/null) != Z* ]]; }  # a zombie has stopped
here=$(pwd -P)
trainers() {
    local pid
    for pid in $(pgrep -f "scripts\.train_candidates( |\$)" || true); do
        # argparse takes any prefix of --progress
        if [[ $(readlink "/proc/$pid/cwd" 2>/dev/null) == "$here" && ! " $(arguments "$pid")" =~ \ --p ]]; then
            echo "$pid"
        fi
    done
}

resume="nohup .venv/bin/python -m scripts.train_candidates $* --data data/fer2013 >> logs/training.out 2>&1 &"
for pid in $(trainers); do
    command=$(arguments "$pid")
    [[ -n $command ]] && resume="nohup ${command% } >> logs/training.out 2>&1 &"
    logs=()  # where this trainer's runs log their epochs: runs/<registration>/ for each registration it names
    for word in $command; do [[ $word =~ ^[A-Za-z0-9_.-]+$ && -d runs/$word ]] && logs+=("runs/$word"); done
    log=""
    while alive "$pid"; do
        log=$(for folder in "${logs[@]}"; do ls "$folder"/*/training_log.csv 2>/dev/null; done | xargs -r ls -t | head -1 || true)
        if [[ -n $log ]]; then
            logged=$(wc -l <"$log" 2>/dev/null || echo 0)
            while alive "$pid" && [[ -f $log && $(wc -l <"$log" 2>/dev/null || echo 0) == "$logged" ]]; do sleep 1; done
            epochs=$(python3 -c "import json, sys; print(json.load(open(sys.argv[1]))['epochs'])" "$(dirname "$log")/config.json")
            # After the last epoch's line the run writes its results; stop only between epochs.
            if [[ -f $log ]] && (($(wc -l <"$log") - 1 < epochs)); then break; fi
        fi
        sleep 5
    done
    kill "$pid" 2>/dev/null || true
    while alive "$pid"; do sleep 1; done
    if [[ -f $log ]]; then echo "stopped training: $(dirname "$log") has $(($(wc -l <"$log") - 1)) epochs logged"; fi
done

git add -f "${runs[@]}"
# Files over 10 MB stay out of git (an Adam run's backup holds its moments too): such a run stays in this work
# tree only, whole, so that a fresh checkout never resumes half of it; there it trains again from its start.
for run in $(find "${runs[@]}" -type f -size +10000000c | cut -d/ -f1-3 | sort -u); do
    git rm -r -q --cached --ignore-unmatch -- "$run"
    echo "not committed: $run holds a file over 10 MB; a fresh checkout trains it again from its start"
done
if git diff --cached --quiet -- "${runs[@]}"; then
    echo "nothing new in ${runs[*]} since the last commit"
else
    git commit -q -m "Training progress of ${runs[*]}: the runs as they stand, to resume from" -- "${runs[@]}"
    git log --oneline -1
fi
echo "resume: $resume"
