"""Facial emotion recognition on FER-2013: loaders, models, training, evaluation and plots."""

from fer.csv_data import load_csv
from fer.datasets import load_data
from fer.errors import DataError
from fer.evaluation import evaluate
from fer.image_folders import load_image_folders
from fer.labels import EMOTIONS
from fer.model_files import load_model
from fer.models import build_model
from fer.predict import predict
from fer.pretrained import load_pretrained
from fer.training import TrainConfig, train

__all__ = [
    "EMOTIONS",
    "DataError",
    "TrainConfig",
    "build_model",
    "evaluate",
    "load_csv",
    "load_data",
    "load_image_folders",
    "load_model",
    "load_pretrained",
    "predict",
    "train",
]
