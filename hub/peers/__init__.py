"""Real peers started on free loopback ports, one module per protocol: Dovecot and pymap (IMAP),
aiosmtpd (SMTP), Radicale and Xandikos (CalDAV), Cyrus (IMAP + CalDAV).

Plain runtime code with no test dependency: ``hub demo`` runs them, and the test kit
(:mod:`hub.testing.peers`) wraps them in pytest fixtures.
"""
