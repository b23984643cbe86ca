"""Bench procedures a third party ships for hil (installed by the tests, listed by `hil procedures`)."""
