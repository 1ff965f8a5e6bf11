"""The booking tool: free slots of a meeting type and booking them without ever double-booking.

* :mod:`hub.scheduling.availability` — free slots from working hours, busy blocks and buffers;
* :mod:`hub.scheduling.availability_explained` — why a slot is or is not offered (the host's view);
* :mod:`hub.scheduling.booking` — a guest books a slot, under a lock, re-checked against fresh busy time;
* :mod:`hub.scheduling.teams` — team types: who hosts, and the round-robin choice of a free member;
* :mod:`hub.scheduling.limits` — date overrides and the per-host, per-day booking limit;
* :mod:`hub.scheduling.questions` — booking questions and checking the guest's answers.
* :mod:`hub.scheduling.self_service` — rescheduling (under the same lock) and cancelling a booking;
* :mod:`hub.scheduling.links` — the guest's signed, single-purpose reschedule and cancel links;
* :mod:`hub.scheduling.notifications` — booking e-mails to guest and host (host's mailbox or the relay);
* :mod:`hub.scheduling.invitation` — the ``.ics`` they carry (REQUEST / CANCEL, one UID, rising SEQUENCE);
* :mod:`hub.scheduling.reminders` — reminders before the meeting, never stale.
"""
