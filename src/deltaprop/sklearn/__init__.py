"""scikit-learn estimators: ``MLPClassifier`` and ``MLPRegressor``, drop-in for ``sklearn.neural_network``'s.

Needs scikit-learn and SciPy (``pip install 'deltaprop[sklearn]'``; the ``cli`` extra has them too).
"""
from .classifier import MLPClassifier
from .regressor import MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
