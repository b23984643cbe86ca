"""How many cases the protocol-parser fuzz tests draw: thousands in the normal run, more on demand
with ``pytest --fuzz-scale N`` (N times as many), e.g. ``pytest tests/unit -k fuzz --fuzz-scale 50``."""

scale = 1


def fuzz_examples(normal_run: int) -> int:
    return normal_run * scale
