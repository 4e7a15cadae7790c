"""Python client of Sluice's control plane API.

``Client`` wraps the clients generated from api/sluice/v1 (the ``sluice.v1``
package: ``connector_pb2``, ``connector_connect`` and so on) with a token,
TLS, a timeout, retries and typed errors::

    from sluice_client import Client, NotFoundError

    with Client("http://127.0.0.1:8083") as c:
        c.apply("gen", {"connector.class": "datagen", "topic": "gen"})
        for st in c.watch_status("gen", timeout=60):
            print(st.connector.state)

The generated clients are there too, for everything the shortcuts leave
out: ``c.connectors.restart_connector(...)``, ``c.cluster.list_agents(...)``,
or the async ``sluice.v1.connector_connect.ConnectorServiceClient``.
"""

from .client import DEFAULT_ADDRESS, ENV_SERVER, ENV_TOKEN, Client, address, is_running
from .errors import (
    AlreadyExistsError,
    DeadlineExceededError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    SluiceError,
    UnauthenticatedError,
    UnavailableError,
    from_connect_error,
)

__all__ = [
    "Client",
    "DEFAULT_ADDRESS",
    "ENV_SERVER",
    "ENV_TOKEN",
    "address",
    "is_running",
    "SluiceError",
    "NotFoundError",
    "AlreadyExistsError",
    "InvalidArgumentError",
    "FailedPreconditionError",
    "UnavailableError",
    "DeadlineExceededError",
    "UnauthenticatedError",
    "PermissionDeniedError",
    "from_connect_error",
]
