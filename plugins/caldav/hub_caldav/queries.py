"""The REPORT bodies the plugin sends, built with caldav's XML elements.

Raw REPORTs rather than caldav's object API: one ``sync-collection`` or ``calendar-query`` with
``calendar-data`` brings every changed object in a single round trip, where the object API loads
them one GET at a time (measured on Radicale, 2,000 events: 0.59 s against 1.7 s).

Public API: :func:`encode_path`, :func:`propfind`, :func:`sync_collection`, :func:`calendar_query`, :func:`multiget`.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from caldav.elements import cdav, dav
from lxml import etree


def encode_path(path: str) -> str:
    """Percent-encode a path the server returned decoded (``/me@example.com/work/`` stays readable)."""
    return quote(path, safe="/@:+,;=!$&()*~%")


_NAMESPACES = {"D": "DAV:", "C": "urn:ietf:params:xml:ns:caldav", "CS": "http://calendarserver.org/ns/",
               "A": "http://apple.com/ns/ical/"}


def propfind(names: list[str]) -> str:
    """A PROPFIND body asking for ``names`` (Clark notation, any namespace).

    Built here because caldav's list interface silently drops properties it has no class for
    (``CS:getctag``, ``current-user-privilege-set``, Apple's calendar colour).
    """
    root = etree.Element("{DAV:}propfind", nsmap=_NAMESPACES)
    prop = etree.SubElement(root, "{DAV:}prop")
    for name in names:
        etree.SubElement(prop, name)
    return etree.tostring(root, encoding="utf-8", xml_declaration=True).decode()


def _xml(element) -> str:
    return etree.tostring(element.xmlelement(), encoding="utf-8", xml_declaration=True).decode()


def _props(with_data: bool):
    return dav.Prop() + ([dav.GetEtag(), cdav.CalendarData()] if with_data else [dav.GetEtag()])


def sync_collection(token: str | None, with_data: bool = True) -> str:
    """RFC 6578 sync-collection: members changed since ``token`` (all members for ``None``)."""
    return _xml(dav.SyncCollection() + [dav.SyncToken(value=token or None), dav.SyncLevel(value="1"),
                                        _props(with_data)])


def calendar_query(start: datetime, end: datetime, with_data: bool = True) -> str:
    """RFC 4791 calendar-query for VEVENTs with an occurrence overlapping ``[start, end)``."""
    event_filter = cdav.CompFilter("VEVENT") + cdav.TimeRange(start, end)
    return _xml(cdav.CalendarQuery() + [_props(with_data),
                                        cdav.Filter() + (cdav.CompFilter("VCALENDAR") + event_filter)])


def multiget(hrefs: list[str]) -> str:
    """RFC 4791 calendar-multiget of ``hrefs`` (decoded paths), with their data."""
    return _xml(cdav.CalendarMultiGet() + [_props(True)] + [dav.Href(value=encode_path(h)) for h in hrefs])
