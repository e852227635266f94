"""The council's rules: pure functions of values, with ``now`` and the time zone passed in.

Nothing here does I/O or knows a framework; `meetings.usecases` loads, calls these and stores.
"""
