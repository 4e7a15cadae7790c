// The TypeScript client of Sluice's control plane: the clients generated
// from api/sluice/v1 (under ./gen) with a token, TLS, a timeout, retries and
// typed errors, and a few shortcuts for connectors.

import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { equals } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import type { Client, Interceptor, Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";

import { ClusterService } from "./gen/sluice/v1/cluster_pb.js";
import { State, TargetState } from "./gen/sluice/v1/common_pb.js";
import { ConnectorService, ConnectorStatusSchema } from "./gen/sluice/v1/connector_pb.js";
import type { Connector, ConnectorStatus } from "./gen/sluice/v1/connector_pb.js";

export * from "./gen/sluice/v1/common_pb.js";
export * from "./gen/sluice/v1/connector_pb.js";
export * from "./gen/sluice/v1/cluster_pb.js";
export { Code, ConnectError } from "@connectrpc/connect";

/** The control plane's default API address. */
export const DEFAULT_ADDRESS = "http://127.0.0.1:8083";
/** The environment variable that overrides DEFAULT_ADDRESS. */
export const ENV_SERVER = "SLUICE_SERVER";
/** The environment variable the client reads its token from when given none. */
export const ENV_TOKEN = "SLUICE_TOKEN";

/** Options of createSluiceClient; each says its default. */
export interface SluiceClientOptions {
  /**
   * The control plane's URL. Default: $SLUICE_SERVER, else
   * http://127.0.0.1:8083. A bare host:port gets http://, or https:// when
   * `ca` is given.
   */
  address?: string;
  /** Sent as "Authorization: Bearer <token>". Default: $SLUICE_TOKEN; none when unset. */
  token?: string;
  /** Bounds each call, retries included, in milliseconds. Default: 30000; 0 for no bound. */
  timeoutMs?: number;
  /**
   * Tries of a call that failed with Unavailable and is safe to repeat (a
   * read or an idempotent call as the API declares them, or any call that
   * could not connect). Default: 4; 1 turns retries off.
   */
  retries?: number;
  /** The first wait between tries, doubling up to 5s. Default: 100. */
  backoffMs?: number;
  /** PEM of the CA that signed the control plane's certificate, for https://. Default: Node's roots. */
  ca?: string | Buffer;
  /** The RPC protocol. Default: "connect" over HTTP/1.1; "grpc" uses HTTP/2. */
  protocol?: "connect" | "grpc";
  /** More interceptors, run inside the client's own (they see each try). */
  interceptors?: Interceptor[];
}

/** A Sluice error: the code and the server's message (`rawMessage`). */
export class SluiceError extends ConnectError {
  override name = "SluiceError";
}
/** The connector (or task, or plugin) does not exist. */
export class NotFoundError extends SluiceError {
  override name = "NotFoundError";
}
/** What the call would create exists already. */
export class AlreadyExistsError extends SluiceError {
  override name = "AlreadyExistsError";
}
/** The request is wrong whatever the cluster's state: a bad config, a missing name. */
export class InvalidArgumentError extends SluiceError {
  override name = "InvalidArgumentError";
}
/** The cluster is not in the state the call needs. */
export class FailedPreconditionError extends SluiceError {
  override name = "FailedPreconditionError";
}
/** The control plane cannot be reached or has no leader yet; retry later. */
export class UnavailableError extends SluiceError {
  override name = "UnavailableError";
}
/** No answer came before the timeout. */
export class DeadlineExceededError extends SluiceError {
  override name = "DeadlineExceededError";
}
/** The call carried no valid token. */
export class UnauthenticatedError extends SluiceError {
  override name = "UnauthenticatedError";
}
/** The token may not do this. */
export class PermissionDeniedError extends SluiceError {
  override name = "PermissionDeniedError";
}

const errorClasses = new Map<Code, typeof SluiceError>([
  [Code.NotFound, NotFoundError],
  [Code.AlreadyExists, AlreadyExistsError],
  [Code.InvalidArgument, InvalidArgumentError],
  [Code.FailedPrecondition, FailedPreconditionError],
  [Code.Unavailable, UnavailableError],
  [Code.DeadlineExceeded, DeadlineExceededError],
  [Code.Unauthenticated, UnauthenticatedError],
  [Code.PermissionDenied, PermissionDeniedError],
]);

/** Returns the typed error for any error a call threw. */
export function toSluiceError(err: unknown): SluiceError {
  if (err instanceof SluiceError) {
    return err;
  }
  const ce = ConnectError.from(err);
  const Cls = errorClasses.get(ce.code) ?? SluiceError;
  return new Cls(ce.rawMessage, ce.code, ce.metadata, undefined, ce.cause ?? err);
}

/** The address to use: addr, else $SLUICE_SERVER, else DEFAULT_ADDRESS. */
export function address(addr?: string, tls = false): string {
  let a = addr || process.env[ENV_SERVER] || DEFAULT_ADDRESS;
  if (!a.includes("://")) {
    a = (tls ? "https://" : "http://") + a;
  }
  return a.replace(/\/+$/, "");
}

const errorsInterceptor: Interceptor = (next) => async (req) => {
  try {
    return await next(req);
  } catch (e) {
    throw toSluiceError(e);
  }
};

function tokenInterceptor(token: string): Interceptor {
  return (next) => async (req) => {
    req.header.set("Authorization", `Bearer ${token}`);
    return await next(req);
  };
}

// couldNotConnect reports whether the request never left: Node failed to
// open the connection.
function couldNotConnect(err: ConnectError): boolean {
  const codes = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);
  for (let c: unknown = err.cause; c instanceof Error; c = c.cause) {
    const code = (c as NodeJS.ErrnoException).code;
    if (code && codes.has(code)) {
      return true;
    }
  }
  return false;
}

function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve(false);
      return;
    }
    const onAbort = () => {
      clearTimeout(t);
      resolve(false);
    };
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

function retryInterceptor(attempts: number, backoffMs: number): Interceptor {
  return (next) => async (req) => {
    const safe =
      req.method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS ||
      req.method.idempotency === MethodOptions_IdempotencyLevel.IDEMPOTENT;
    for (let n = 1; ; n++) {
      try {
        return await next(req);
      } catch (e) {
        const ce = ConnectError.from(e);
        if (req.stream || n >= attempts || ce.code !== Code.Unavailable || !(safe || couldNotConnect(ce))) {
          throw e;
        }
        let wait = Math.min(backoffMs * 2 ** (n - 1), 5000);
        wait -= Math.random() * (wait / 5);
        if (!(await sleep(wait, req.signal))) {
          throw e;
        }
      }
    }
  };
}

/** Whether the connector and each of its tasks (at least one) are RUNNING. */
export function isRunning(st: ConnectorStatus | undefined): boolean {
  return (
    st !== undefined &&
    st.connector?.state === State.RUNNING &&
    st.tasks.length > 0 &&
    st.tasks.every((t) => t.state === State.RUNNING)
  );
}

/** A client of Sluice's control plane; see createSluiceClient. */
export interface SluiceClient {
  /** The URL the client talks to. */
  readonly address: string;
  /** The generated ConnectorService client, with the options applied. */
  readonly connectors: Client<typeof ConnectorService>;
  /** The generated ClusterService client, with the options applied. */
  readonly cluster: Client<typeof ClusterService>;
  /** The transport, to create clients of other services. */
  readonly transport: Transport;

  /** Creates the connector, or replaces the config of an existing one. */
  apply(name: string, config: Record<string, string>, opts?: { paused?: boolean }): Promise<Connector>;
  /** The connector's config and tasks; NotFoundError if it does not exist. */
  get(name: string): Promise<Connector>;
  /** Every connector, sorted by name. */
  list(): Promise<Connector[]>;
  /** Stops the connector's tasks and removes it with its offsets. */
  delete(name: string): Promise<void>;
  /** The observed state of the connector and of each of its tasks. */
  status(name: string): Promise<ConnectorStatus>;
  /**
   * Yields the connector's status now and each time it changes, polling
   * every intervalMs (default 500), until timeoutMs (default: never) or the
   * signal aborts, or the caller stops iterating.
   */
  watchStatus(
    name: string,
    opts?: { intervalMs?: number; timeoutMs?: number; signal?: AbortSignal },
  ): AsyncGenerator<ConnectorStatus, void, undefined>;
  /** Waits until the connector and all its tasks are RUNNING; throws after timeoutMs (default 60000). */
  waitRunning(name: string, opts?: { intervalMs?: number; timeoutMs?: number }): Promise<ConnectorStatus>;
}

/** Returns a client of the control plane; see SluiceClientOptions for the defaults. */
export function createSluiceClient(options: SluiceClientOptions = {}): SluiceClient {
  const baseUrl = address(options.address, options.ca !== undefined);
  const token = options.token ?? process.env[ENV_TOKEN];
  const retries = options.retries ?? 4;
  const interceptors: Interceptor[] = [errorsInterceptor];
  if (retries > 1) {
    interceptors.push(retryInterceptor(retries, options.backoffMs ?? 100));
  }
  if (token) {
    interceptors.push(tokenInterceptor(token));
  }
  interceptors.push(...(options.interceptors ?? []));
  const timeoutMs = options.timeoutMs ?? 30_000;
  const common = {
    baseUrl,
    interceptors,
    defaultTimeoutMs: timeoutMs > 0 ? timeoutMs : undefined,
  };
  const transport =
    options.protocol === "grpc"
      ? createGrpcTransport({ ...common, nodeOptions: options.ca ? { ca: options.ca } : undefined })
      : createConnectTransport({
          ...common,
          httpVersion: "1.1",
          nodeOptions: options.ca ? { ca: options.ca } : undefined,
        });
  const connectors = createClient(ConnectorService, transport);
  const cluster = createClient(ClusterService, transport);

  async function status(name: string): Promise<ConnectorStatus> {
    const res = await connectors.getConnectorStatus({ name });
    if (!res.status) {
      throw new SluiceError(`no status for connector ${name}`, Code.Internal);
    }
    return res.status;
  }

  async function* watchStatus(
    name: string,
    opts: { intervalMs?: number; timeoutMs?: number; signal?: AbortSignal } = {},
  ): AsyncGenerator<ConnectorStatus, void, undefined> {
    const interval = opts.intervalMs ?? 500;
    const deadline = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;
    const signal = opts.signal ?? new AbortController().signal;
    let last: ConnectorStatus | undefined;
    for (;;) {
      const st = await status(name);
      if (last === undefined || !equals(ConnectorStatusSchema, st, last)) {
        last = st;
        yield st;
      }
      if (Date.now() + interval > deadline || !(await sleep(interval, signal))) {
        return;
      }
    }
  }

  return {
    address: baseUrl,
    connectors,
    cluster,
    transport,
    async apply(name, config, opts = {}) {
      const res = await connectors.applyConnector({
        name,
        config: { name, ...config },
        initialState: opts.paused ? TargetState.PAUSED : TargetState.UNSPECIFIED,
      });
      return res.connector!;
    },
    async get(name) {
      return (await connectors.getConnector({ name })).connector!;
    },
    async list() {
      return (await connectors.listConnectors({})).connectors;
    },
    async delete(name) {
      await connectors.deleteConnector({ name });
    },
    status,
    watchStatus,
    async waitRunning(name, opts = {}) {
      const timeoutMs = opts.timeoutMs ?? 60_000;
      let last: ConnectorStatus | undefined;
      for await (const st of watchStatus(name, { intervalMs: opts.intervalMs, timeoutMs })) {
        last = st;
        if (isRunning(st)) {
          return st;
        }
      }
      throw new Error(`${name} not RUNNING after ${timeoutMs}ms: ${JSON.stringify(last?.connector?.state)}`);
    },
  };
}
