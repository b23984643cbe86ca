"""The bench side: what a driver may import.

- :mod:`~hil.bench.transport`: byte, line, message and register transports over pyserial, sockets and
  pyvisa, mapping their errors to the project's own.
- :mod:`~hil.bench.modbus_rtu`: a small Modbus RTU master (a register transport on a serial line).
- :mod:`~hil.bench.roles`: the ``typing.Protocol`` of each kind of device procedures use.
- :mod:`~hil.bench.config`: the bench file (limits, buses, instruments, roles), parsed and checked.

May import :mod:`hil.core` only. Drivers import this package and :mod:`hil.core`, nothing else of ``hil``.
"""
