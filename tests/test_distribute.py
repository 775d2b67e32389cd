"""train() under a tf.distribute strategy: MirroredStrategy over two logical CPU devices."""

import json
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

TRAIN_MIRRORED = textwrap.dedent(
    """
    import sys
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import fer

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert strategy.num_replicas_in_sync == 2
    config = fer.TrainConfig(model="csv_cnn", data=sys.argv[1], run_dir=sys.argv[2], epochs=2, batch_size=16)
    fer.train(config, strategy=strategy)
    """
)


@pytest.mark.slow
def test_training_under_mirrored_strategy_on_two_cpu_devices(tiny_csv, tmp_path):
    # 21 PublicTest images: the last validation batch would not split evenly over two replicas unpadded.
    run_dir = tmp_path / "run"
    finished = subprocess.run(
        [sys.executable, "-c", TRAIN_MIRRORED, str(tiny_csv), str(run_dir)], timeout=300, capture_output=True, text=True
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    history = pd.read_csv(run_dir / "history.csv")
    assert list(history.epoch) == [0, 1]
    selected = history.loc[metrics["selected_epoch"] - 1]
    # The padding blanks count for nothing: the logged PublicTest accuracy is that of the 21 real images.
    assert abs(selected.val_accuracy - metrics["splits"]["PublicTest"]["accuracy"]) < 1e-6
    assert metrics["splits"]["PublicTest"]["n"] == 21
