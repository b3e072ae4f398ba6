"""fit() refuses estimators that cannot predict, whatever the task."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression, Ridge

from shipyard.errors import ConfigError
from shipyard.training.fitting import fit


@pytest.mark.parametrize(
    ("estimator", "task"), [(Ridge(), "regression"), (LogisticRegression(), "classification")]
)
def test_an_unfitted_estimator_is_a_usage_error(estimator, task):
    X = pd.DataFrame({"a": np.arange(10.0)})
    y = pd.Series(np.arange(10) % 2)
    with pytest.raises(ConfigError, match="unfitted|without 'classes_'"):
        fit(lambda X, y, params: estimator, X, y, {}, seed=0, task=task)


def test_a_fitted_regressor_passes():
    X = pd.DataFrame({"a": np.arange(10.0)})
    y = pd.Series(np.arange(10.0))
    model = fit(lambda X, y, params: Ridge().fit(X, y), X, y, {}, seed=0, task="regression")
    assert model.predict(X).shape == (10,)
