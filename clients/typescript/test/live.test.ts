// The client against a live control plane with an agent: set
// SLUICE_TEST_SERVER (its URL) and SLUICE_TEST_TOPIC (a topic on its
// Kafka). test/e2e's TestClients starts both and runs these tests.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";

import {
  ConnectorType,
  createSluiceClient,
  InvalidArgumentError,
  isRunning,
  NotFoundError,
  TargetState,
} from "../src/index.js";

const server = process.env.SLUICE_TEST_SERVER;
const topic = process.env.SLUICE_TEST_TOPIC ?? "sluice-client-test";

describe("live control plane", { skip: server ? false : "no control plane: set SLUICE_TEST_SERVER" }, () => {
  // The control plane has no authentication: the token is sent and ignored.
  const c = createSluiceClient({ address: server, token: "test-token", timeoutMs: 10_000 });

  test("connector lifecycle", async () => {
    const name = "ts-" + randomBytes(4).toString("hex");
    const conn = await c.apply(name, {
      "connector.class": "datagen",
      topic,
      "records.per.second": "5",
      "tasks.max": "2",
    });
    assert.equal(conn.name, name);
    assert.equal(conn.type, ConnectorType.SOURCE);
    assert.equal(conn.tasks.length, 2);

    const got = await c.get(name);
    assert.equal(got.config.topic, topic);
    assert.ok((await c.list()).some((x) => x.name === name));

    const st = await c.waitRunning(name, { timeoutMs: 60_000, intervalMs: 200 });
    assert.ok(isRunning(st));
    assert.ok(st.tasks.every((t) => t.workerId !== ""));

    // The generated client is there for the rest.
    const paused = await c.connectors.pauseConnector({ name });
    assert.equal(paused.connector?.targetState, TargetState.PAUSED);

    await c.delete(name);
    await assert.rejects(c.get(name), NotFoundError);
    assert.ok(!(await c.list()).some((x) => x.name === name));
  });

  test("errors", async () => {
    await assert.rejects(c.status("no-such-connector"), (e: unknown) => {
      assert.ok(e instanceof NotFoundError);
      assert.match(e.rawMessage, /no-such-connector/);
      return true;
    });
    await assert.rejects(c.apply("ts-bad", { "connector.class": "no.such.Connector" }), InvalidArgumentError);
    await assert.rejects(c.delete("no-such-connector"), NotFoundError);
  });

  test("cluster", async () => {
    const st = await c.cluster.getClusterStatus({});
    assert.ok(st.healthy && st.leader !== "");
    assert.ok((await c.cluster.listAgents({})).agents.length >= 1);
  });
});
