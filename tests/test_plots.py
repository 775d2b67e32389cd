import numpy as np
import pandas as pd
from PIL import Image

from fer.data.labels import EMOTIONS
from fer.plots import plot_confusion_matrix, plot_history


def test_confusion_matrix_figure_is_written(tmp_path):
    matrix = np.random.default_rng(0).integers(0, 50, size=(7, 7))
    matrix[1] = 0  # a class with no images must not divide by zero
    path = tmp_path / "images" / "confusion.png"
    figure = plot_confusion_matrix(matrix, path)
    assert Image.open(path).size[0] > 300
    counts, shares = (np.asarray(axes.collections[0].get_array()).reshape(7, 7) for axes in figure.axes)
    assert [label.get_text() for label in figure.axes[0].get_xticklabels()] == list(EMOTIONS)
    np.testing.assert_array_equal(counts, matrix)
    np.testing.assert_allclose(shares.sum(axis=1)[matrix.sum(axis=1) > 0], 1.0)  # each true class's row: shares
    assert not np.isnan(shares).any()


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
    assert Image.open(path).size[0] > 300
    accuracy_axes, loss_axes = figure.axes
    plotted = {tuple(line.get_ydata()) for line in accuracy_axes.get_lines()}
    assert tuple(history.accuracy) in plotted and tuple(history.val_accuracy) in plotted
    plotted = {tuple(line.get_ydata()) for line in loss_axes.get_lines()}
    assert tuple(history.loss) in plotted and tuple(history.val_loss) in plotted
