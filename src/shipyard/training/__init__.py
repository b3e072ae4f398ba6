"""Calling the user's code and packaging features + model as one servable.

`entrypoints` imports `module:function` references, `fitting` calls the user's
training function, `packaging` saves and loads model folders. Import the
submodule you need: `packaging` imports mlflow only inside the functions that use it.
"""
