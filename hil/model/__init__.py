"""The model side: calibration of the dimensionless pump model from bench runs, the pump model file,
propellant properties and the propulsion sizing model with its optimiser.

Knows nothing of instruments or the runner: may import :mod:`hil.core`, :mod:`hil.analysis`,
:mod:`hil.store` and :mod:`hil.results` (derived results of a run), never :mod:`hil.run`, drivers,
procedures or simulators.
"""
