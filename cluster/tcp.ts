/**
 * The TCP transport of the runtime this code runs on. Both implementations are imported
 * statically: each touches its runtime's global (`Bun`, `Deno`) only when called, and its types
 * are erased, so loading the other runtime's file is harmless.
 *
 * @module
 */

import { ClusterError } from "./errors.ts";
import { bunTcpTransport } from "./tcp_bun.ts";
import { denoTcpTransport } from "./tcp_deno.ts";
import type { Transport } from "./transport.ts";
import { hostName } from "../core/_host.ts";

/**
 * The TCP transport for Bun ("tcp-bun") or Deno ("tcp-deno"); throws ClusterError on any other
 * runtime.
 *
 * @example
 * ```ts
 * import { tcpTransport } from "./tcp.ts";
 * const transport = tcpTransport();
 * const listener = await transport.listen("127.0.0.1", 0, (connection) => connection.close());
 * await listener.close();
 * ```
 */
export function tcpTransport(): Transport {
  const runtime = hostName();
  if (runtime === "bun") return bunTcpTransport();
  if (runtime === "deno") return denoTcpTransport();
  throw new ClusterError(
    "no TCP transport for this runtime: the cluster runs on Bun or Deno; start it with `bun` " +
      "or `deno run -A`",
  );
}
