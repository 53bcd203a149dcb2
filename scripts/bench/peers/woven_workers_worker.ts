/**
 * The body of Woven-ECS's heavy_compute worker system (see woven_workers.ts):
 * each worker inverts the matrices of its partition of the query.
 *
 * @module
 */

import { type Context, defineQuery, setupWorker } from "@woven-ecs/core";
import { invertEntity, WovenPosition, WovenTransform } from "./woven_workers.ts";

const matrices = defineQuery((q) => q.with(WovenTransform, WovenPosition));

setupWorker((ctx: Context) => {
  for (const eid of matrices.current(ctx, { partitioned: true })) invertEntity(ctx, eid);
});
