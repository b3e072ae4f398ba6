"""MLflow's models-from-code entry for a Shipyard model: MLflow runs this file to build the model.

Saving the model as code rather than as a pickled object keeps `python_model.pkl`
(and MLflow's warning about unpickling it) out of every model folder.
"""

from mlflow.models import set_model

from shipyard.training.pyfunc import ShipyardPyfunc

set_model(ShipyardPyfunc())
