"""Watching a run live: the web console (``hil run --console``, ``hil console RUN_DIR``) and the
terminal view.

A view is a subscriber of the run's stream (:mod:`hil.run.stream`), never a participant: it reads
through bounded queues that drop rather than block, and reaches the run only by queuing the same
safe-stop request as Ctrl-C (and the event recording a refused one), which the runner takes at its
next tick. So no browser or terminal can slow a run or change its directory.

- :mod:`~hil.console.view`: the state a view shows (readings, margins, steady state, progress,
  points, events, trip), plain data in and out.
- :mod:`~hil.console.feeds`: a live run's stream, or a run directory's journal followed as it grows.
- :mod:`~hil.console.server`: the web page, its WebSocket stream and the token-guarded Stop
  (Starlette on uvicorn, uPlot bundled in ``static/``).
- :mod:`~hil.console.terminal`: the terminal view (rich), plain lines when not on a terminal.
- :mod:`~hil.console.watch`: how ``hil run`` opens and closes the views around a run.

Sits below the CLI and above what it reads: may import :mod:`hil.run` (the stream, the operating-
point function), :mod:`hil.store` (reading run directories), :mod:`hil.bench` (the bench limits)
and :mod:`hil.core`; never :mod:`hil.results`, :mod:`hil.model` or the CLI, and it never writes a
run directory.
"""
