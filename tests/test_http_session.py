"""hub.http.session(): HTTP for user-entered URLs goes through the SSRF guard, keeps the host name for
the Host header and TLS, refuses plain HTTP where a password could leak, and retries politely."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from hub import http
from hub.exceptions import ConnectFailed, HostNotAllowed


class Server:
    """A loopback HTTP server that answers from a list of responses and records what it was sent."""

    def __init__(self):
        self.seen: list[tuple[str, str]] = []
        self.answers: list[Response] = []
        self.server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://localhost:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _app(self, environ, start_response):
        request = Request(environ)
        self.seen.append((request.path, request.host))
        answer = self.answers.pop(0) if self.answers else Response("ok")
        return answer(environ, start_response)


@pytest.fixture
def server():
    running = Server()
    running.thread.start()
    yield running
    running.server.shutdown()


@pytest.mark.parametrize("url", ["https://127.0.0.1/", "https://localhost/", "https://[::1]/",
                                 "https://[::ffff:127.0.0.1]/", "https://169.254.169.254/latest/meta-data",
                                 "https://10.0.0.1/", "https://127.0.0.1:6379/"])
def test_private_addresses_are_refused_before_anything_is_sent(url):
    with pytest.raises(HostNotAllowed):
        http.session().get(url)


def test_a_port_outside_the_web_ports_is_refused_for_public_resources():
    with pytest.raises(HostNotAllowed) as caught:
        http.session(plain_http=True).get("http://localhost:6379/")
    assert "port 6379" in caught.value.message


def test_plain_http_is_refused_unless_the_resource_is_public_or_private_hosts_are_allowed(server):
    with pytest.raises(ConnectFailed) as caught:
        http.session().get(server.url + "/feed.ics")
    assert "HTTPS" in caught.value.message and caught.value.fix
    assert server.seen == []


def test_with_private_hosts_allowed_the_request_goes_through_with_the_real_host_name(server):
    answer = http.session(allow_private=True).get(server.url + "/feed.ics")
    assert answer.text == "ok"
    assert server.seen == [("/feed.ics", f"localhost:{server.server.server_port}")]


def test_a_short_retry_after_is_waited_out_and_a_long_one_is_left_to_the_job_layer(server):
    server.answers += [Response(status=503, headers={"Retry-After": "0"}), Response("second time")]
    assert http.session(allow_private=True).get(server.url + "/x").text == "second time"
    server.answers += [Response(status=429, headers={"Retry-After": "3600"})]
    answer = http.session(allow_private=True).get(server.url + "/y")
    assert answer.status_code == 429 and [p for p, _ in server.seen].count("/y") == 1
