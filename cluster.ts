/**
 * StaticECS's cluster: one world sharded across processes and machines. A
 * Coordinator keeps membership and the map of partitions to members; a
 * ClusterMember runs the scene for its partitions; both talk over a
 * Transport (TCP between processes, in memory for tests) after proving the
 * same shared secret. Every bound is one key of ClusterLimits. The scene API
 * is `staticecs` (mod.ts).
 *
 * @example
 * ```ts ignore
 * import { Runtime } from "staticecs";
 * import { ClusterMember, Coordinator, MemoryTransport } from "staticecs/cluster";
 * import scene from "./scene.ts";
 *
 * const transport = new MemoryTransport(); // tcpTransport() between processes
 * const secret = "correct horse battery staple";
 * const coordinator = new Coordinator({ partitions: 16, secret });
 * const { port } = await coordinator.listen(transport, "memory", 0);
 * const heartbeat = setInterval(() => coordinator.tick(), 10);
 * const member = await ClusterMember.join({
 *   transport,
 *   host: "memory",
 *   port,
 *   secret,
 *   scene,
 *   createRuntime: (options) => Runtime.create(scene, options),
 * });
 * ```
 *
 * @module
 */

export {
  Coordinator,
  type CoordinatorEvent,
  type CoordinatorOptions,
} from "./cluster/coordinator.ts";
export { ClusterMember, type MemberOptions, type MemberStats } from "./cluster/member.ts";
export type { Connection, Listener, Transport, TransportLimits } from "./cluster/transport.ts";
export { tcpTransport } from "./cluster/tcp.ts";
export { MemoryTransport } from "./cluster/memory_transport.ts";
export { ClusterBusyError, ClusterError } from "./cluster/errors.ts";
export {
  CLUSTER_LIMIT_RANGES,
  ClusterLimitError,
  type ClusterLimitKey,
  type ClusterLimits,
  DEFAULT_CLUSTER_LIMITS,
  PARTITIONS_MAX,
} from "./cluster/limits.ts";
export { checkSecret, generateSecret, SECRET_BYTES_MIN } from "./cluster/auth.ts";
