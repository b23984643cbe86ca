"""One run on a bench: assembling the bench from its file, the session, the runner's tick loop with its
interlocks, operating points, and the interface procedures are written against.

- :mod:`~hil.run.assembly`: the one place in ``hil`` that names concrete drivers.
- :mod:`~hil.run.virtual`: the one place in ``hil`` that imports simulators (the virtual bench).
- :mod:`~hil.run.session`, :mod:`~hil.run.runner`, :mod:`~hil.run.procedure_api`,
  :mod:`~hil.run.operating_points`.
- :mod:`~hil.run.interlocks`: the limit checks the runner makes on every tick (what trips, and when).
- :mod:`~hil.run.stream`: what live viewers (the console) see of a run, through bounded queues.

May import :mod:`hil.core`, :mod:`hil.bench`, :mod:`hil.analysis` and :mod:`hil.store`, plus drivers
(assembly) and simulators (virtual); never :mod:`hil.results`, :mod:`hil.model` or the CLI.
"""
