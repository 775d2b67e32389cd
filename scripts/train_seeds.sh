#!/usr/bin/env bash
# Issue 10's extra seeds of the two study pipelines at the study's settings, one run at a time (2 cores).
# A finished run is reused and an unfinished one resumes from its last epoch, so this is safe to start
# again after an interruption:   nohup bash scripts/train_seeds.sh > logs/train_seeds.out 2>&1 &
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p logs
for seed in 1 2; do
  for model in csv_cnn image_cnn; do
    folder=$([ "$model" = csv_cnn ] && echo CSV_Based_Model || echo Image_Based_Model)
    .venv/bin/fer train --model "$model" --data data/fer2013 --run-dir "$folder/seed_$seed" --seed "$seed" \
      >> "logs/${model}_seed_$seed.log" 2>&1
  done
done
