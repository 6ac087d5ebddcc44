"""initstudy: a reproducible pipeline for the empirical study of weight initialization."""

import os

# TensorFlow's start-up log lines need both variables, set before it is imported
# (importing Keras on the TensorFlow backend imports it). oneDNN off also makes the
# CPU numbers independent of oneDNN's kernel choice.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

__version__ = "0.1.0"
