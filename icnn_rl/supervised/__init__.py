"""The paper's supervised experiments on the convex core (:mod:`icnn_rl.convex`).

- :mod:`~icnn_rl.supervised.synthetic`: 2-D toy classification, FICNN vs PICNN decision boundaries;
- :mod:`~icnn_rl.supervised.multilabel`: Bibtex multi-label classification (feed-forward baseline,
  PICNN by unrolled gradient inference and by bundle entropy);
- :mod:`~icnn_rl.supervised.completion`: Olivetti left-half face completion with a conv PICNN.

Each is a command (``python -m icnn_rl.supervised.<name>``) with a YAML config in ``configs/``.
Shared pieces: :mod:`.data` (loaders), :mod:`.metrics`, :mod:`.inference` (the two argmin
predictors), :mod:`.common` (configs, run directories, TensorBoard, the training loop).
"""
