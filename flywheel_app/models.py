"""Flywheels, their datasets and iterations (built with model copy; see models_app for versions)."""
