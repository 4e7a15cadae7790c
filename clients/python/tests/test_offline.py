"""The client against a fake ConnectorService in this process: retries,
the token and typed errors, with no control plane needed."""

import io
import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from connectrpc.code import Code
from connectrpc.errors import ConnectError

from sluice.v1 import connector_pb2
from sluice.v1.connector_connect import ConnectorServiceSync, ConnectorServiceWSGIApplication
from sluice_client import Client, InvalidArgumentError, NotFoundError, SluiceError, UnavailableError


class Fake(ConnectorServiceSync):
    def __init__(self):
        self.calls = 0
        self.unavailable = 0  # calls left to fail with UNAVAILABLE
        self.auth = None

    def _begin(self, ctx):
        self.calls += 1
        self.auth = ctx.request_headers().get("authorization")
        if self.unavailable > 0:
            self.unavailable -= 1
            raise ConnectError(Code.UNAVAILABLE, "no leader yet")

    def list_connectors(self, request, ctx):
        self._begin(ctx)
        return connector_pb2.ListConnectorsResponse(connectors=[connector_pb2.Connector(name="copy")])

    def get_connector(self, request, ctx):
        self._begin(ctx)
        raise ConnectError(Code.NOT_FOUND, f'connector "{request.name}" not found')

    def apply_connector(self, request, ctx):
        self._begin(ctx)
        if "connector.class" not in request.config:
            raise ConnectError(Code.INVALID_ARGUMENT, "connector.class is required")
        return connector_pb2.ApplyConnectorResponse(connector=connector_pb2.Connector(name=request.name), created=True)


def _bounded_input(app):
    # wsgiref hands the application the socket as wsgi.input, where reading
    # to the end waits for the client: give it the body alone.
    def wrapped(environ, start_response):
        n = int(environ.get("CONTENT_LENGTH") or 0)
        environ["wsgi.input"] = io.BytesIO(environ["wsgi.input"].read(n))
        return app(environ, start_response)

    return wrapped


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def fake():
    f = Fake()
    srv = make_server("127.0.0.1", 0, _bounded_input(ConnectorServiceWSGIApplication(f)), handler_class=_Quiet)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    f.url = f"http://127.0.0.1:{srv.server_port}"
    yield f
    srv.shutdown()
    srv.server_close()
    t.join()


def test_typed_errors(fake):
    with Client(fake.url) as c:
        with pytest.raises(NotFoundError) as e:
            c.get("nope")
        assert e.value.code == Code.NOT_FOUND
        assert e.value.message == 'connector "nope" not found'
        assert isinstance(e.value, SluiceError) and isinstance(e.value, ConnectError)
        with pytest.raises(InvalidArgumentError):
            c.apply("x", {})


@pytest.mark.parametrize("retries,unavailable,calls,ok", [(3, 2, 3, True), (2, 5, 2, False), (1, 1, 1, False)])
def test_retries_reads_when_unavailable(fake, retries, unavailable, calls, ok):
    fake.unavailable = unavailable
    with Client(fake.url, retries=retries, backoff_ms=1) as c:
        if ok:
            assert [x.name for x in c.list_connectors()] == ["copy"]
        else:
            with pytest.raises(UnavailableError):
                c.list_connectors()
    assert fake.calls == calls


def test_does_not_repeat_writes_that_reached_the_server(fake):
    fake.unavailable = 1
    with Client(fake.url, retries=5, backoff_ms=1) as c:
        with pytest.raises(UnavailableError):
            c.apply("copy", {"connector.class": "file-source"})
    assert fake.calls == 1


def test_token(fake):
    with Client(fake.url, token="s3cret") as c:
        c.list_connectors()
    assert fake.auth == "Bearer s3cret"
    with Client(fake.url, token="") as c:
        c.list_connectors()
    assert fake.auth is None


def test_cannot_connect():
    # Port 1 on loopback refuses: the call is tried `retries` times, then
    # raises UnavailableError.
    with Client("127.0.0.1:1", retries=2, backoff_ms=1) as c:
        with pytest.raises(UnavailableError):
            c.apply("x", {"connector.class": "datagen"})
