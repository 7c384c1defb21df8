"""Inference: the class of a video or of key-frame images, from a trained checkpoint."""

from lfd_tcmen.inference.predict import Prediction, format_prediction, predict_images, predict_video

__all__ = ["Prediction", "format_prediction", "predict_images", "predict_video"]
