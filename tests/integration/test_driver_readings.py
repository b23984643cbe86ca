"""What each driver declares it reads (checked against bench files before connecting) is exactly
what its ``read()`` returns, through the virtual bench's emulators; and a generic driver's readings
are the ones its bench-file table describes."""

from __future__ import annotations

import dataclasses

import pytest

from hil.bench.config import load_bench
from hil.core.errors import ConfigError
from hil.run.channel_readings import READINGS_OF, check_channel_readings
from hil.run.session import open_session

ODRIVE_BENCH = "sim-odrive"


@pytest.mark.parametrize("bench", ["sim", ODRIVE_BENCH], ids=["vesc-bench", "odrive-bench"])
def test_every_driver_reads_exactly_what_it_declares(bench: str) -> None:
    config = load_bench(bench)
    drivers = set()
    with open_session(config, seed=None) as session:
        for name, instrument in session.bench.instruments.items():
            cfg = config.instruments[name]
            drivers.add(cfg.driver)
            assert set(instrument.read()) == READINGS_OF[cfg.driver](cfg), name
    assert drivers <= set(READINGS_OF)


def test_a_generic_driver_channel_must_name_one_of_its_described_registers() -> None:
    config = load_bench(ODRIVE_BENCH)
    torque = config.instruments["torque"]
    registers = sorted(torque.options.data["registers"])
    wrong = dataclasses.replace(torque, channels={**torque.channels, "shaft_torque_nm": "torque"})
    with pytest.raises(ConfigError) as caught:
        check_channel_readings(
            dataclasses.replace(config, instruments={**config.instruments, "torque": wrong})
        )
    assert caught.value.source == config.source
    assert caught.value.field == "instruments.torque.channels.shaft_torque_nm"
    assert caught.value.problem.endswith(f"(available: {', '.join(registers)})")
