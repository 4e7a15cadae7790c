"""Client: the generated Connect clients with a token, TLS, a timeout,
retries and typed errors, and a few shortcuts for connectors."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from connectrpc.code import Code
from connectrpc.errors import ConnectError
from connectrpc.method import IdempotencyLevel
from connectrpc.protocol import ProtocolType
from connectrpc.request import RequestContext
from pyqwest import SyncClient, SyncHTTPTransport

from sluice.v1 import common_pb2, connector_pb2
from sluice.v1.cluster_connect import ClusterServiceClientSync
from sluice.v1.connector_connect import ConnectorServiceClientSync

from .errors import from_connect_error

__all__ = ["Client", "DEFAULT_ADDRESS", "ENV_SERVER", "ENV_TOKEN", "address", "is_running"]

DEFAULT_ADDRESS = "http://127.0.0.1:8083"
"""The control plane's default API address."""

ENV_SERVER = "SLUICE_SERVER"
"""The environment variable that overrides DEFAULT_ADDRESS."""

ENV_TOKEN = "SLUICE_TOKEN"
"""The environment variable Client reads its token from when given none."""

REQ = TypeVar("REQ")
RES = TypeVar("RES")


def address(addr: str | None = None, *, tls: bool = False) -> str:
    """The address to use: addr, else $SLUICE_SERVER, else DEFAULT_ADDRESS.

    A bare host:port gets http:// in front (https:// with tls).
    """
    addr = addr or os.environ.get(ENV_SERVER) or DEFAULT_ADDRESS
    if "://" not in addr:
        addr = ("https://" if tls else "http://") + addr
    return addr.rstrip("/")


class _Errors:
    """Raises the typed error of every failed unary call."""

    def intercept_unary_sync(self, call_next: Callable[[REQ, RequestContext], RES], request: REQ, ctx: RequestContext) -> RES:
        try:
            return call_next(request, ctx)
        except ConnectError as e:
            raise from_connect_error(e) from e


class _Token:
    """Sends the token as a bearer token."""

    def __init__(self, token: str) -> None:
        self._value = "Bearer " + token

    def intercept_unary_sync(self, call_next: Callable[[REQ, RequestContext], RES], request: REQ, ctx: RequestContext) -> RES:
        ctx.request_headers()["authorization"] = self._value
        return call_next(request, ctx)


def _could_not_connect(err: ConnectError) -> bool:
    # connect-python raises UNAVAILABLE from the transport's exception; a
    # plain ConnectionError means the request never left.
    cause = err.__cause__
    return type(cause) is ConnectionError or isinstance(cause, ConnectionRefusedError)


class _Retry:
    """Repeats a unary call that failed with UNAVAILABLE when that is safe:
    a read or an idempotent call, or any call that could not connect."""

    def __init__(self, attempts: int, backoff_ms: int, sleep: Callable[[float], None] = time.sleep) -> None:
        self._attempts = attempts
        self._backoff = backoff_ms / 1000.0
        self._sleep = sleep

    def intercept_unary_sync(self, call_next: Callable[[REQ, RequestContext], RES], request: REQ, ctx: RequestContext) -> RES:
        safe = ctx.method().idempotency_level in (IdempotencyLevel.NO_SIDE_EFFECTS, IdempotencyLevel.IDEMPOTENT)
        n = 1
        while True:
            try:
                return call_next(request, ctx)
            except ConnectError as e:
                if n >= self._attempts or e.code != Code.UNAVAILABLE or not (safe or _could_not_connect(e)):
                    raise
                wait = min(self._backoff * 2 ** (n - 1), 5.0)
                wait -= random.uniform(0, wait / 5)
                left = ctx.timeout_ms()
                if left is not None and left / 1000.0 <= wait:
                    raise
                self._sleep(wait)
                n += 1


class Client:
    """A client of Sluice's control plane.

    ``connectors`` and ``cluster`` are the generated clients
    (``ConnectorServiceClientSync``, ``ClusterServiceClientSync``) with the
    options below applied to every call; the methods of Client are shortcuts
    over them. Failed calls raise a subclass of ``sluice_client.SluiceError``.

    Args:
        address: the control plane's URL (default $SLUICE_SERVER, else
            http://127.0.0.1:8083); a bare host:port gets http://, or https://
            when ``ca_cert`` is given.
        token: sent as "Authorization: Bearer <token>" (default $SLUICE_TOKEN;
            none when unset).
        timeout_ms: bounds each call, retries included (default 30s; None
            for no bound).
        retries: tries of a call that failed with UNAVAILABLE and is safe to
            repeat (reads, idempotent calls, calls that could not connect);
            1 turns retries off (default 4).
        backoff_ms: the first wait between tries; it doubles, up to 5s
            (default 100ms).
        ca_cert: PEM of the CA that signed the control plane's certificate,
            for https:// (default: the system's roots).
        http_client: a pyqwest SyncClient to use instead (ca_cert is then
            ignored).
        protocol: the RPC protocol (default Connect; gRPC needs HTTP/2).
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        token: str | None = None,
        timeout_ms: int | None = 30_000,
        retries: int = 4,
        backoff_ms: int = 100,
        ca_cert: bytes | None = None,
        http_client: SyncClient | None = None,
        protocol: ProtocolType = ProtocolType.CONNECT,
    ) -> None:
        self.address = _address(address, tls=ca_cert is not None)
        token = token if token is not None else os.environ.get(ENV_TOKEN)
        interceptors: list[Any] = [_Errors()]
        if retries > 1:
            interceptors.append(_Retry(retries, backoff_ms))
        if token:
            interceptors.append(_Token(token))
        if http_client is None and ca_cert is not None:
            http_client = SyncClient(SyncHTTPTransport(tls_ca_cert=ca_cert))
        kw: dict[str, Any] = dict(timeout_ms=timeout_ms, interceptors=interceptors, http_client=http_client, protocol=protocol)
        self.connectors = ConnectorServiceClientSync(self.address, **kw)
        self.cluster = ClusterServiceClientSync(self.address, **kw)

    def close(self) -> None:
        self.connectors.close()
        self.cluster.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Shortcuts.

    def apply(self, name: str, config: Mapping[str, str], *, paused: bool = False) -> connector_pb2.Connector:
        """Creates the connector, or replaces the config of an existing one.

        ``name`` is also written into the config, as Kafka Connect does.
        """
        cfg = dict(config)
        cfg.setdefault("name", name)
        req = connector_pb2.ApplyConnectorRequest(name=name, config=cfg)
        if paused:
            req.initial_state = common_pb2.TARGET_STATE_PAUSED
        return self.connectors.apply_connector(req).connector

    def get(self, name: str) -> connector_pb2.Connector:
        """The connector's config and tasks; NotFoundError if it does not exist."""
        return self.connectors.get_connector(connector_pb2.GetConnectorRequest(name=name)).connector

    def list_connectors(self) -> list[connector_pb2.Connector]:
        """Every connector, sorted by name."""
        return list(self.connectors.list_connectors(connector_pb2.ListConnectorsRequest()).connectors)

    def delete(self, name: str) -> None:
        """Stops the connector's tasks and removes it with its offsets."""
        self.connectors.delete_connector(connector_pb2.DeleteConnectorRequest(name=name))

    def status(self, name: str) -> connector_pb2.ConnectorStatus:
        """The observed state of the connector and of each of its tasks."""
        return self.connectors.get_connector_status(connector_pb2.GetConnectorStatusRequest(name=name)).status

    def watch_status(self, name: str, *, interval: float = 0.5, timeout: float | None = None) -> Iterator[connector_pb2.ConnectorStatus]:
        """Yields the connector's status now and each time it changes.

        It polls every ``interval`` seconds and ends after ``timeout`` seconds
        (never, by default), or when the caller stops iterating. A status
        that no longer changes is not yielded again.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        last: connector_pb2.ConnectorStatus | None = None
        while True:
            st = self.status(name)
            if st != last:
                last = st
                yield st
            if deadline is not None and time.monotonic() + interval > deadline:
                return
            time.sleep(interval)

    def wait_running(self, name: str, *, timeout: float = 60.0, interval: float = 0.5) -> connector_pb2.ConnectorStatus:
        """Waits until the connector and all its tasks are RUNNING.

        Raises TimeoutError with the last status if they are not within
        ``timeout`` seconds.
        """
        last = None
        for st in self.watch_status(name, interval=interval, timeout=timeout):
            last = st
            if is_running(st):
                return st
        raise TimeoutError(f"{name} not RUNNING after {timeout}s: {last}")


_address = address


def is_running(st: connector_pb2.ConnectorStatus) -> bool:
    """Whether the connector and each of its tasks (at least one) are RUNNING."""
    return (
        st.connector.state == common_pb2.STATE_RUNNING
        and len(st.tasks) > 0
        and all(t.state == common_pb2.STATE_RUNNING for t in st.tasks)
    )
