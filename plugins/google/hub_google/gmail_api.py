"""The Gmail API v1 calls the plugin makes, one method each."""

from __future__ import annotations

from typing import Any

from hub_google.client import GoogleClient


class GmailAPI:
    """Gmail for one account (``users/me``)."""

    def __init__(self, client: GoogleClient):
        self.client = client
        self.base = client.endpoints.gmail

    def profile(self) -> dict[str, Any]:
        """users.getProfile (address and current historyId)."""
        return self.client.call("GET", f"{self.base}/profile", "Gmail")

    def list_messages(self, label: str, query: str, limit: int, page_token: str | None) -> dict[str, Any]:
        """messages.list of one label with a search query."""
        params: dict[str, Any] = {"labelIds": label, "q": query, "maxResults": limit}
        if page_token:
            params["pageToken"] = page_token
        return self.client.call("GET", f"{self.base}/messages", "Gmail", params=params)

    def get_message(self, message_id: str) -> dict[str, Any]:
        """The message in ``full`` format: headers, text parts inline, attachments as ids only."""
        return self.client.call("GET", f"{self.base}/messages/{message_id}", "Gmail", params={"format": "full"})

    def history(self, start: str, label: str, limit: int, page_token: str | None) -> dict[str, Any]:
        """history.list from ``start`` for one label."""
        params: dict[str, Any] = {"startHistoryId": start, "labelId": label, "maxResults": limit,
                                  "historyTypes": ["messageAdded", "messageDeleted", "labelAdded"]}
        if page_token:
            params["pageToken"] = page_token
        return self.client.call("GET", f"{self.base}/history", "Gmail", params=params)

    def send(self, raw: str, thread_id: str | None) -> dict[str, Any]:
        """messages.send of a base64url RFC 822 message, in ``thread_id`` if given."""
        body = {"raw": raw}
        if thread_id:
            body["threadId"] = thread_id
        return self.client.call("POST", f"{self.base}/messages/send", "Gmail", json=body)
