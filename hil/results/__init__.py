"""Results of a run: derived results (speed-converted points, acceptance, NPSH3), replay and report.

May import :mod:`hil.core`, :mod:`hil.bench` (the bench file), :mod:`hil.analysis`, :mod:`hil.store`
and :mod:`hil.run` (operating points; the replay bench); never :mod:`hil.model` or the CLI.
"""
