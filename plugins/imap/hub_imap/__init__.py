"""crm-hub-imap: the IMAP/SMTP provider plugin of the CRM integration hub.

Modules: :mod:`~hub_imap.hooks` (the hook implementations), :mod:`~hub_imap.config` and
:mod:`~hub_imap.presets` (server settings), :mod:`~hub_imap.connect` (the connect check),
:mod:`~hub_imap.connection` and :mod:`~hub_imap.session` (IMAP sessions through the SSRF guard),
:mod:`~hub_imap.folders` (SPECIAL-USE), :mod:`~hub_imap.sync` (cursor and algorithm),
:mod:`~hub_imap.fetch`, :mod:`~hub_imap.fetch_response` and :mod:`~hub_imap.parsing` (FETCH and MIME),
:mod:`~hub_imap.smtp` (sending) and :mod:`~hub_imap.idle` (the IDLE listener).
"""
