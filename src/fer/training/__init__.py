"""Training a registered model into a run directory, and reading finished runs back."""
