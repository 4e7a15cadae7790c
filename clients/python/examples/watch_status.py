"""Create a datagen connector and watch its status until it runs.

    python examples/watch_status.py [--server URL] [--name NAME] [--topic TOPIC]

The control plane comes from --server, else $SLUICE_SERVER, else
http://127.0.0.1:8083 (`sluice dev` serves there). The connector writes ten
records a second to the topic; delete it with `sluice connector delete NAME`
or --delete.
"""

import argparse
import sys

from sluice.v1 import common_pb2
from sluice_client import Client, InvalidArgumentError, is_running


def state(s: int) -> str:
    return common_pb2.State.Name(s).removeprefix("STATE_")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", help="control plane URL")
    p.add_argument("--name", default="example-datagen")
    p.add_argument("--topic", default="sluice-example")
    p.add_argument("--timeout", type=float, default=60, help="seconds to wait for RUNNING")
    p.add_argument("--delete", action="store_true", help="delete the connector once it runs")
    args = p.parse_args()

    with Client(args.server) as c:
        try:
            conn = c.apply(args.name, {
                "connector.class": "datagen",
                "topic": args.topic,
                "records.per.second": "10",
                "value.converter": "string",
            })
        except InvalidArgumentError as e:
            print(f"the control plane refused the config: {e.message}", file=sys.stderr)
            return 1
        print(f"applied {conn.name} (generation {conn.generation}, {len(conn.tasks)} task(s))")

        for st in c.watch_status(args.name, interval=0.25, timeout=args.timeout):
            tasks = ", ".join(f"{t.id}:{state(t.state)}@{t.worker_id or '-'}" for t in st.tasks)
            print(f"{st.name}: {state(st.connector.state)} tasks [{tasks}]", flush=True)
            if is_running(st):
                print("RUNNING")
                break
        else:
            print(f"{args.name} did not reach RUNNING within {args.timeout}s", file=sys.stderr)
            return 1

        if args.delete:
            c.delete(args.name)
            print(f"deleted {args.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
