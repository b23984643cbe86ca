"""The foundation every other part of ``hil`` stands on: errors, the config reader, the clock, fluid
properties (and, as they are added, units).

- :mod:`~hil.core.errors`: the project's exception hierarchy (each also a matching builtin).
- :mod:`~hil.core.config`: the one reader of declarative TOML files (bench, mission, pump, grades).
- :mod:`~hil.core.clock`: wall and virtual clocks; all waiting and time-stamping goes through them.
- :mod:`~hil.core.fluids`: water properties (CoolProp, loaded on first use) and standard gravity.

May import the standard library and third-party libraries only: no other ``hil`` package, no drivers,
procedures or simulators (the layered contract in ``pyproject.toml``).
"""
