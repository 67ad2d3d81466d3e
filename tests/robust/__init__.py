"""Proof under load, faults and bad input (sized by ``QOBJECTS_SCALE=ci|full``)."""
