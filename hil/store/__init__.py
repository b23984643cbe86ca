"""The run directory: its file names, its writer and its one reader (:class:`run_log.RunLog`).

May import hil's foundation (``hil.core``) and the bench file parser (``hil.bench``), nothing above.
"""
