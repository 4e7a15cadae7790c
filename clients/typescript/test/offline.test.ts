// The client against a fake ConnectorService in this process: retries, the
// token and typed errors, with no control plane needed.

import assert from "node:assert/strict";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, test } from "node:test";

import { Code, ConnectError } from "@connectrpc/connect";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";

import {
  ConnectorService,
  createSluiceClient,
  InvalidArgumentError,
  NotFoundError,
  SluiceError,
  UnavailableError,
} from "../src/index.js";

const fake = { calls: 0, unavailable: 0, auth: null as string | null };

function begin(header: Headers) {
  fake.calls++;
  fake.auth = header.get("authorization");
  if (fake.unavailable > 0) {
    fake.unavailable--;
    throw new ConnectError("no leader yet", Code.Unavailable);
  }
}

const routes = (router: ConnectRouter) =>
  router.service(ConnectorService, {
    listConnectors(_req, ctx) {
      begin(ctx.requestHeader);
      return { connectors: [{ name: "copy" }] };
    },
    getConnector(req, ctx) {
      begin(ctx.requestHeader);
      throw new ConnectError(`connector "${req.name}" not found`, Code.NotFound);
    },
    applyConnector(req, ctx) {
      begin(ctx.requestHeader);
      if (!req.config["connector.class"]) {
        throw new ConnectError("connector.class is required", Code.InvalidArgument);
      }
      return { connector: { name: req.name }, created: true };
    },
  });

let server: http.Server;
let url: string;

before(async () => {
  server = http.createServer(connectNodeAdapter({ routes }));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

beforeEach(() => {
  fake.calls = 0;
  fake.unavailable = 0;
  fake.auth = null;
});

test("typed errors", async () => {
  const c = createSluiceClient({ address: url });
  await assert.rejects(c.get("nope"), (e: unknown) => {
    assert.ok(e instanceof NotFoundError && e instanceof SluiceError && e instanceof ConnectError);
    assert.equal(e.code, Code.NotFound);
    assert.equal(e.rawMessage, 'connector "nope" not found');
    return true;
  });
  await assert.rejects(c.apply("x", {}), InvalidArgumentError);
});

for (const [retries, unavailable, calls, ok] of [
  [3, 2, 3, true],
  [2, 5, 2, false],
  [1, 1, 1, false],
] as const) {
  test(`reads are retried when unavailable: ${retries} tries, ${unavailable} failures`, async () => {
    fake.unavailable = unavailable;
    const c = createSluiceClient({ address: url, retries, backoffMs: 1 });
    if (ok) {
      assert.deepEqual(
        (await c.list()).map((x) => x.name),
        ["copy"],
      );
    } else {
      await assert.rejects(c.list(), UnavailableError);
    }
    assert.equal(fake.calls, calls);
  });
}

test("writes that reached the server are not repeated", async () => {
  fake.unavailable = 1;
  const c = createSluiceClient({ address: url, retries: 5, backoffMs: 1 });
  await assert.rejects(c.apply("copy", { "connector.class": "file-source" }), UnavailableError);
  assert.equal(fake.calls, 1);
});

test("token", async () => {
  await createSluiceClient({ address: url, token: "s3cret" }).list();
  assert.equal(fake.auth, "Bearer s3cret");
  await createSluiceClient({ address: url, token: "" }).list();
  assert.equal(fake.auth, null);
});

test("a call that cannot connect is tried again, then fails as unavailable", async () => {
  // Port 1 on loopback refuses connections.
  const c = createSluiceClient({ address: "127.0.0.1:1", retries: 2, backoffMs: 1 });
  await assert.rejects(c.apply("x", { "connector.class": "datagen" }), UnavailableError);
});
