"""The run directory: its file names, its writer (the durable journal) and its reader.

May import :mod:`hil.core` only: everything that reads or writes a run directory goes through here.
"""
