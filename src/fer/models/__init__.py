"""The networks: one registry of models, their Keras definitions, model files, the shipped model, export."""
