"""Registers (台账) of 一表通: residents, households, houses, units, and the identifier validators."""
