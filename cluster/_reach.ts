/**
 * How a member finds a coordinator that takes it: each address in turn (the coordinator, then
 * its standbys), round after round within the member's grace; at each, connect, authenticate,
 * send the join or rejoin, and wait for the welcome. A standby's refusal or an address that does
 * not answer moves on to the next; a refusal no other coordinator would reverse (a wrong secret,
 * another scene, an unknown member) ends the search.
 *
 * @module
 */

import { connectAuthenticated } from "./auth.ts";
import { ClusterError } from "./errors.ts";
import type { MemberOptions } from "./member.ts";
import {
  checkCoordinatorMessage,
  type CoordinatorMessage,
  type MemberMessage,
  type RawMessage,
} from "./protocol.ts";
import type { Connection } from "./transport.ts";

/** What the search needs of a member's options. */
type ReachOptions = Pick<
  MemberOptions,
  "transport" | "host" | "port" | "alternates" | "secret" | "limits" | "joinTimeoutMs"
>;

/** Waits for the welcome, keeping what follows it (assigns) for after the runtime exists. */
function awaitWelcome(
  connection: Connection,
  early: RawMessage[],
  timeoutMs: number,
): Promise<Extract<CoordinatorMessage, { t: "welcome" }>> {
  return new Promise((resolve, reject) => {
    let welcomed = false;
    const timer = setTimeout(() => {
      reject(new ClusterError(`no welcome from the coordinator within ${timeoutMs} ms`));
    }, timeoutMs);
    connection.onClose = (reason) => {
      clearTimeout(timer);
      reject(new ClusterError(`the coordinator closed the connection: ${reason}`));
    };
    connection.onMessage = (raw) => {
      if (welcomed) return void early.push(raw);
      clearTimeout(timer);
      if (raw.t === "error") {
        return reject(
          new CoordinatorRefusal(
            `the coordinator refused: ${String(raw.message).slice(0, 300)}`,
            raw.retry === true,
          ),
        );
      }
      try {
        const message = checkCoordinatorMessage(raw, 1);
        if (message.t !== "welcome") throw new ClusterError(`expected welcome, got ${raw.t}`);
        welcomed = true;
        resolve(message);
      } catch (error) {
        reject(error);
      }
    };
  });
}

/** A coordinator said no; `retry` when it is a standby (the leader may take the member). */
class CoordinatorRefusal extends ClusterError {
  readonly retry: boolean;
  constructor(message: string, retry: boolean) {
    super(message);
    this.retry = retry;
  }
}

/** How long to wait between rounds over every coordinator address. */
const REACH_RETRY_MS = 100;
/** How long one address may take to authenticate when there are others to try. */
const ATTEMPT_MS = 1_000;
/** The longest wait for a welcome when MemberOptions.joinTimeoutMs is not given. */
const JOIN_TIMEOUT_MS = 10_000;

/**
 * Connects to a coordinator that welcomes `first()`: host:port, then the alternates, round after
 * round for up to `graceMs` (one round if 0). The grace bounds the whole search: no attempt starts
 * after it, and one under way is cut off at it, whatever an address does (a coordinator that
 * authenticates and then never answers would otherwise hold the search for joinTimeoutMs). A
 * standby's refusal or an unreachable address moves on to the next; any other refusal (a wrong
 * secret, an unknown member) ends the search.
 */
export async function reachCoordinator(
  options: ReachOptions,
  first: () => MemberMessage,
  early: RawMessage[],
  graceMs: number,
  stopped: () => boolean = () => false,
): Promise<Reached> {
  const addresses = [{ host: options.host, port: options.port }, ...(options.alternates ?? [])];
  const joinTimeoutMs = options.joinTimeoutMs ?? JOIN_TIMEOUT_MS;
  const deadline = performance.now() + graceMs;
  let last: Error | undefined;
  for (let round = 0; round === 0 || performance.now() < deadline; round++) {
    for (const { host, port } of addresses) {
      if (stopped()) throw new ClusterError("the member stopped while looking for a coordinator");
      const leftMs = graceMs === 0
        ? joinTimeoutMs
        : Math.min(joinTimeoutMs, deadline - performance.now());
      if (leftMs <= 0) break;
      try {
        return await attempt(options, host, port, first, early, {
          // With other coordinators to try, one stopped (SIGSTOP) must not hold the search up.
          authMs: Math.min(addresses.length > 1 ? ATTEMPT_MS : joinTimeoutMs, leftMs),
          welcomedMs: leftMs,
        });
      } catch (error) {
        last = error as Error;
        // A standby, an address with nothing listening, a coordinator stopped or busy: try the
        // next. A wrong secret, another scene, an unknown member: no other coordinator differs.
        const moveOn = error instanceof CoordinatorRefusal
          ? error.retry
          : !/authentication failed: (the (server|peer) refused|.*wrong secret)/i.test(
            last.message,
          );
        if (!moveOn || graceMs === 0 && addresses.length === 1) throw error;
      }
    }
    if (graceMs === 0) break;
    const leftMs = deadline - performance.now();
    if (leftMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(REACH_RETRY_MS, leftMs)));
    }
  }
  throw new ClusterError(
    `no coordinator took this member within ${graceMs} ms (coordinatorGraceMs) at ${
      addresses.map((a) => `${a.host}:${a.port}`).join(", ")
    }; ` +
      `last: ${last?.message ?? "none"}`,
  );
}

/** A coordinator's connection and its welcome. */
export type Reached = {
  connection: Connection;
  welcome: Extract<CoordinatorMessage, { t: "welcome" }>;
};

/**
 * One attempt at one address: connect and authenticate within `authMs`, send `first()`, and be
 * welcomed within `welcomedMs` of the start. Past that it gives up, and a connection that opens
 * later is closed.
 */
async function attempt(
  options: ReachOptions,
  host: string,
  port: number,
  first: () => MemberMessage,
  early: RawMessage[],
  bounds: { readonly authMs: number; readonly welcomedMs: number },
): Promise<Reached> {
  let connection: Connection | undefined;
  let abandoned = false;
  const trying = (async (): Promise<Reached> => {
    const opened = await connectAuthenticated(options.transport, host, port, {
      secret: options.secret,
      limits: options.limits,
      timeoutMs: bounds.authMs,
    });
    if (abandoned) {
      opened.close("the member gave up on this attempt");
      throw new ClusterError("too late");
    }
    connection = opened;
    early.length = 0;
    const welcomed = awaitWelcome(opened, early, bounds.welcomedMs);
    opened.send(first());
    return { connection: opened, welcome: await welcomed };
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const cutOff = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ClusterError(
            `no welcome from ${host}:${port} within ${Math.round(bounds.welcomedMs)} ms`,
          ),
        ),
      bounds.welcomedMs,
    );
  });
  try {
    return await Promise.race([trying, cutOff]);
  } catch (error) {
    abandoned = true;
    connection?.close(`no welcome: ${(error as Error).message}`);
    throw error;
  } finally {
    clearTimeout(timer);
    trying.catch(() => {}); // settles after the cut-off, if at all; nothing waits for it then
  }
}
