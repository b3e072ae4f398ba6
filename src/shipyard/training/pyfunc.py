"""The MLflow pyfunc wrapper of a `Servable`, in its own module: importing it imports mlflow (~2 s).

Only MLflow imports it, through `_mlflow_model.py` (the models-from-code entry that
`package_model` saves in each model folder), so `shipyard --help` never pays for mlflow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.pyfunc.model import PythonModel

from shipyard.training.packaging import ESTIMATOR_ARTIFACT, Servable, load_servable, pyfunc_trust


class ShipyardPyfunc(PythonModel):
    """Serves a Shipyard model folder through MLflow with the same code as `load_servable`.

    MLflow has put the model's `code/` folder on `sys.path` before `load_context`,
    so the features module shipped inside the model imports without the project.
    What may be deserialised comes from the caller of `load_pyfunc` (shipyard.yaml), never
    from the model folder: a plain `mlflow.pyfunc.load_model` gets Shipyard's defaults.
    """

    def load_context(self, context: Any) -> None:
        model_dir = Path(context.artifacts[ESTIMATOR_ARTIFACT]).resolve().parents[1]
        self._servable: Servable = load_servable(model_dir, pyfunc_trust())

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        return self._servable.predict_frame(model_input)
