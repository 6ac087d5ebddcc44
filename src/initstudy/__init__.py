"""initstudy: a reproducible pipeline for the empirical study of weight initialization."""

__version__ = "0.1.0"
