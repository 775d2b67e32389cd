import numpy as np
import pandas as pd

from fer.plots import plot_confusion_matrix, plot_history


def test_confusion_matrix_figure_is_written(tmp_path):
    matrix = np.random.default_rng(0).integers(0, 50, size=(7, 7))
    matrix[1] = 0  # a class with no images must not divide by zero
    path = tmp_path / "images" / "confusion.png"
    plot_confusion_matrix(matrix, path)
    assert path.stat().st_size > 10_000


def test_history_figure_is_written(tmp_path):
    history = pd.DataFrame(
        {
            "epoch": [0, 1, 2],
            "accuracy": [0.3, 0.4, 0.5],
            "loss": [1.8, 1.5, 1.3],
            "val_accuracy": [0.3, 0.38, 0.45],
            "val_loss": [1.7, 1.6, 1.5],
        }
    )
    history.to_csv(tmp_path / "history.csv", index=False)
    path = tmp_path / "curves.png"
    figure = plot_history(tmp_path / "history.csv", path, "test")
    assert path.stat().st_size > 10_000
    assert len(figure.axes) == 2
