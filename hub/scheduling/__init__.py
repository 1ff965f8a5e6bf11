"""The booking tool: free slots of a meeting type and booking them without ever double-booking.

* :mod:`hub.scheduling.availability` — free slots from working hours, busy blocks and buffers;
* :mod:`hub.scheduling.availability_explained` — why a slot is or is not offered (the host's view);
* :mod:`hub.scheduling.booking` — a guest books a slot, under a lock, re-checked against fresh busy time.
"""
