"""hil: hardware-in-the-loop test harness for electric pump prototypes."""

__version__ = "0.1.0"
