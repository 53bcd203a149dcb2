/**
 * Where partitions go: the least loaded member for one partition, and the
 * fewest moves that even out the load when a member joins.
 *
 * @module
 */

/**
 * The member with the fewest partitions (ties: the lowest id), or undefined
 * if there is none. `load` is each member's partitions, incoming included.
 *
 * @example
 * ```ts
 * import { leastLoaded } from "./_placement.ts";
 * leastLoaded([3, 1, 2], new Map([[3, 1], [1, 4], [2, 1]])); // 2
 * ```
 */
export function leastLoaded(
  members: readonly number[],
  load: ReadonlyMap<number, number>,
): number | undefined {
  let best: number | undefined;
  for (const id of members) {
    const n = load.get(id) ?? 0;
    if (best === undefined || n < (load.get(best) ?? 0) || (n === load.get(best) && id < best)) {
      best = id;
    }
  }
  return best;
}

/**
 * The moves that leave no member owning more than one partition more than
 * another, as few as it can: each move takes from the most loaded member
 * that has a movable partition (ties: the highest id) its highest movable
 * partition, and gives it to the least loaded member (ties: the lowest id).
 * `owners[p]` is p's owner, or where it is going, or -1; `movable[p]` says
 * whether p can be revoked now (partitions on their way cannot).
 *
 * @example
 * ```ts
 * import { planMoves } from "./_placement.ts";
 * planMoves([1, 1, 1, 1], [true, true, true, true], [1, 2]); // [[3, 2], [2, 2]]
 * ```
 */
export function planMoves(
  owners: readonly number[],
  movable: readonly boolean[],
  members: readonly number[],
): [partition: number, to: number][] {
  const owned = new Map<number, number[]>(members.map((id) => [id, []]));
  owners.forEach((owner, p) => owned.get(owner)?.push(p));
  const moves: [number, number][] = [];
  for (;;) {
    let to: number | undefined;
    let from: number | undefined;
    for (const [id, list] of owned) {
      const toCount = to === undefined ? Infinity : owned.get(to)!.length;
      if (list.length < toCount || (list.length === toCount && id < to!)) to = id;
      if (!list.some((p) => movable[p])) continue;
      const fromCount = from === undefined ? -1 : owned.get(from)!.length;
      if (list.length > fromCount || (list.length === fromCount && id > from!)) from = id;
    }
    if (to === undefined || from === undefined) break;
    const source = owned.get(from)!, target = owned.get(to)!;
    if (source.length <= target.length + 1) break;
    let k = source.length - 1;
    while (!movable[source[k]]) k--;
    const partition = source.splice(k, 1)[0];
    target.push(partition);
    moves.push([partition, to]);
  }
  return moves;
}
