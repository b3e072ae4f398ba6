"""The fraud example's user code: row-wise features and a scikit-learn training function."""
