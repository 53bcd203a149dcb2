/**
 * Checking and building what a world is made of: the components of a
 * `world.spawn` argument, the scene's owners (each a component or resource,
 * named once), and the sparse components' stores within the memory bound.
 *
 * @module
 */

import type { WorldConfig } from "./config.ts";
import { BoundError, SceneError, UsageError } from "./errors.ts";
import { type Component, isOwned, isSparse, type Owner, ownerOf, type Resource } from "./schema.ts";
import { sparseBytes, SparseStore } from "./sparse.ts";
import type { ComponentInit } from "./world.ts";

/** The component of a spawn argument, or a UsageError saying how to write one. */
export function initComponent(init: ComponentInit, position: number): Component {
  const component = Array.isArray(init) ? init[0] : init;
  const values = Array.isArray(init) ? init[1] : undefined;
  const valid = isOwned(component, "component") &&
    (values === undefined ||
      (typeof values === "object" && values !== null && !isOwned(values, "component"))) &&
    (!Array.isArray(init) || init.length <= 2);
  if (valid) return component as Component;
  if (Array.isArray(init) && init.every((item) => isOwned(item, "component"))) {
    throw new UsageError(
      `world.spawn: argument ${position + 1} is ${describeValue(init)}, a list of components; ` +
        `pass them as separate arguments: world.spawn(${init.map(describeValue).join(", ")})`,
    );
  }
  throw new UsageError(
    `world.spawn: argument ${position + 1} is ${describeValue(init)}; pass a component ` +
      `(Frozen), [component] or [component, { field: value }]`,
  );
}

function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(describeValue).join(", ")}]`;
  if (isOwned(value, "component")) return ownerOf(value as Component).name;
  if (value !== null && typeof value === "object") return "an object that is not a component";
  return String(value);
}

/** The sparse components' stores, new or over another thread's `buffers`; their memory bound. */
export function sparseStoresOf(
  components: readonly Owner[],
  config: WorldConfig,
  buffers: readonly (readonly SharedArrayBuffer[])[] | undefined,
): SparseStore[] {
  const slots = config.maxEntities + 1;
  const sparse = components.flatMap((owner, index) => isSparse(owner) ? [{ owner, index }] : []);
  const bytes = sparse.reduce((sum, { owner }) => sum + sparseBytes(owner, slots), 0);
  if (bytes > config.maxMemoryBytes) {
    throw new BoundError(
      "maxMemoryBytes",
      config.maxMemoryBytes,
      `sparse components take ${bytes} bytes for maxEntities ${config.maxEntities}, more than ` +
        `maxMemoryBytes ${config.maxMemoryBytes}; raise config.maxMemoryBytes, lower ` +
        `config.maxEntities, or store fewer components sparse`,
    );
  }
  return sparse.map(({ owner, index }, s) => new SparseStore(owner, index, slots, buffers?.[s]));
}

export function registerOwners(
  kind: "component" | "resource",
  list: readonly (Component | Resource)[],
  index: Map<Owner, number>,
): Owner[] {
  const owners: Owner[] = [];
  const names = new Set<string>();
  for (const item of list) {
    if (!isOwned(item, kind)) {
      throw new SceneError(
        `${kind}s list: item ${owners.length} is not a ${kind}; make it with ` +
          `define${kind === "component" ? "Component" : "Resource"}()`,
      );
    }
    const owner = ownerOf(item);
    if (names.has(owner.name)) {
      throw new SceneError(
        `${kind}s list: two ${kind}s are named ${owner.name}; names must differ`,
      );
    }
    names.add(owner.name);
    index.set(owner, owners.length);
    owners.push(owner);
  }
  return owners;
}
