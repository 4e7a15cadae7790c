// Create a datagen connector and watch its status until it runs.
//
//   npm run example -- [--server URL] [--name NAME] [--topic TOPIC] [--delete]
//
// The control plane comes from --server, else $SLUICE_SERVER, else
// http://127.0.0.1:8083 (`sluice dev` serves there). The connector writes ten
// records a second to the topic; delete it with `sluice connector delete
// NAME` or --delete.

import { parseArgs } from "node:util";

import { createSluiceClient, InvalidArgumentError, isRunning, State } from "../src/index.js";

const { values: args } = parseArgs({
  options: {
    server: { type: "string" },
    name: { type: "string", default: "example-datagen" },
    topic: { type: "string", default: "sluice-example" },
    timeout: { type: "string", default: "60" },
    delete: { type: "boolean", default: false },
  },
});

const stateName = (s: State | undefined) => State[s ?? State.UNSPECIFIED];

async function main(): Promise<number> {
  const c = createSluiceClient({ address: args.server });
  try {
    const conn = await c.apply(args.name!, {
      "connector.class": "datagen",
      topic: args.topic!,
      "records.per.second": "10",
      "value.converter": "string",
    });
    console.log(`applied ${conn.name} (generation ${conn.generation}, ${conn.tasks.length} task(s))`);
  } catch (e) {
    if (e instanceof InvalidArgumentError) {
      console.error(`the control plane refused the config: ${e.rawMessage}`);
      return 1;
    }
    throw e;
  }

  const timeoutMs = Number(args.timeout) * 1000;
  let running = false;
  for await (const st of c.watchStatus(args.name!, { intervalMs: 250, timeoutMs })) {
    const tasks = st.tasks.map((t) => `${t.id}:${stateName(t.state)}@${t.workerId || "-"}`).join(", ");
    console.log(`${st.name}: ${stateName(st.connector?.state)} tasks [${tasks}]`);
    if (isRunning(st)) {
      console.log("RUNNING");
      running = true;
      break;
    }
  }
  if (!running) {
    console.error(`${args.name} did not reach RUNNING within ${args.timeout}s`);
    return 1;
  }
  if (args.delete) {
    await c.delete(args.name!);
    console.log(`deleted ${args.name}`);
  }
  return 0;
}

process.exitCode = await main();
