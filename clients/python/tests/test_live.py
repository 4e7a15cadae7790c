"""The client against a live control plane with an agent: set
SLUICE_TEST_SERVER (its URL) and SLUICE_TEST_TOPIC (a topic on its Kafka).
test/e2e's TestClients starts both and runs this file."""

import os
import uuid

import pytest

from sluice.v1 import cluster_pb2, common_pb2, connector_pb2
from sluice_client import Client, InvalidArgumentError, NotFoundError, is_running

SERVER = os.environ.get("SLUICE_TEST_SERVER")
TOPIC = os.environ.get("SLUICE_TEST_TOPIC", "sluice-client-test")

pytestmark = pytest.mark.skipif(not SERVER, reason="no control plane: set SLUICE_TEST_SERVER (test/e2e TestClients does)")


@pytest.fixture
def client():
    # The control plane has no authentication: the token is sent and ignored.
    with Client(SERVER, token="test-token", timeout_ms=10_000) as c:
        yield c


def test_connector_lifecycle(client):
    name = "py-" + uuid.uuid4().hex[:8]
    conn = client.apply(name, {"connector.class": "datagen", "topic": TOPIC, "records.per.second": "5", "tasks.max": "2"})
    assert conn.name == name
    assert conn.type == common_pb2.CONNECTOR_TYPE_SOURCE
    assert len(conn.tasks) == 2

    got = client.get(name)
    assert got.config["topic"] == TOPIC and got.config["name"] == name
    assert name in [c.name for c in client.list_connectors()]

    st = client.wait_running(name, timeout=60, interval=0.2)
    assert is_running(st) and len(st.tasks) == 2
    assert all(t.worker_id for t in st.tasks)

    # The generated client is there for the rest.
    paused = client.connectors.pause_connector(connector_pb2.PauseConnectorRequest(name=name))
    assert paused.connector.target_state == common_pb2.TARGET_STATE_PAUSED

    client.delete(name)
    with pytest.raises(NotFoundError):
        client.get(name)
    assert name not in [c.name for c in client.list_connectors()]


def test_errors(client):
    with pytest.raises(NotFoundError) as e:
        client.status("no-such-connector")
    assert "no-such-connector" in e.value.message
    with pytest.raises(InvalidArgumentError) as e:
        client.apply("py-bad", {"connector.class": "no.such.Connector"})
    assert "connector.class" in e.value.message or "no.such.Connector" in e.value.message
    with pytest.raises(NotFoundError):
        client.delete("no-such-connector")


def test_cluster(client):
    res = client.cluster.get_cluster_status(cluster_pb2.GetClusterStatusRequest())
    assert res.healthy and res.leader
    assert len(client.cluster.list_agents(cluster_pb2.ListAgentsRequest()).agents) >= 1
