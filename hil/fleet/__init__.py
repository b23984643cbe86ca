"""Beyond one run and one machine: the executor seam, campaigns of virtual runs, the run catalogue and
fleet re-analysis.

- :mod:`~hil.fleet.executor`: the one executor seam (``concurrent.futures.Executor``): synchronous,
  a local process pool, or Dask (a local cluster or an existing scheduler).
- :mod:`~hil.fleet.campaign`: the campaign file and its expansion into runs.
- :mod:`~hil.fleet.execution`: one campaign run as a pure function of its inputs and seed, and a
  whole campaign on any executor (resume, retries, progress).
- :mod:`~hil.fleet.catalogue`: the SQLite index of run directories (rebuildable from them), and
  :mod:`~hil.fleet.entry`, what it holds about one run, read from the run's files.
- :mod:`~hil.fleet.reanalysis`: replay over many run directories, and a campaign's summary.
- :mod:`~hil.fleet.commands`: the ``hil runs``, ``hil campaign`` and ``hil replay --all`` commands.

Sits above :mod:`hil.model` and below the CLI: it runs procedures (:mod:`hil.run`) and reads and
re-derives results (:mod:`hil.results`, :mod:`hil.store`), so it may import every package of ``hil``
except the CLI; nothing below imports it (the Monte Carlo of the sizing takes any
``concurrent.futures.Executor`` and never needs this package).
"""
