"""The bench side: what a driver may import.

- :mod:`~hil.bench.transport`: byte, line and message transports over pyserial and sockets, mapping
  their errors to the project's own.
- :mod:`~hil.bench.library_transports`: the transports that wrap pyvisa and pymodbus.
- :mod:`~hil.bench.modbus_rtu`, :mod:`~hil.bench.modbus_tcp`: small Modbus RTU and TCP (MBAP) masters
  (register transports on a serial line or a socket).
- :mod:`~hil.bench.roles`: the ``typing.Protocol`` of each kind of device procedures use.
- :mod:`~hil.bench.config`: the bench file (limits, buses, instruments, roles), parsed and checked.
- :mod:`~hil.bench.rules`: the bench file's cross-field safety rules, checked before anything connects.

May import :mod:`hil.core` only. Drivers import this package and :mod:`hil.core`, nothing else of ``hil``.
"""
