"""Figures of the study: vector PDFs drawn from the tables the analysis wrote.

Figures compute no statistic: every mean, interval, rank, correlation and choice of
run they show is a column of an analysis or statistics table.

- :mod:`~initstudy.figures.style`: the one look (size, fonts, initializer styles,
  legend, panel grids, log axes, saving);
- :mod:`~initstudy.figures.curves`: learning curves, accuracy against depth;
- :mod:`~initstudy.figures.signal`: signal per layer at init, signal against accuracy;
- :mod:`~initstudy.figures.comparison`: heatmaps, mean-rank diagram;
- :mod:`~initstudy.figures.weights`: weight histograms;
- :mod:`~initstudy.figures.theory`: mean-field theory beside measurement;
- :mod:`~initstudy.figures.registry`: drawing the figures :mod:`initstudy.study.catalog`
  names, each by the function and from the tables its entry names.
"""
