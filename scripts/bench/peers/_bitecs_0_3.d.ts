/**
 * The part of bitECS 0.3.34's API that peers/bitecs_0_3.ts uses, as its own
 * dist/index.d.ts types it. That file declares `module "bitecs"` globally, so
 * loading it would hide bitECS 0.4's types; the adapter points at this one
 * with `@ts-types` instead.
 *
 * @module
 */

/** A world: any object, to which bitECS adds its own symbol keys. */
export type IWorld = Record<string, unknown>;
/** A component with one i32 field, or a tag (`defineComponent()`). */
export type Component = { value: Int32Array } | Record<string, never>;
/** A query: the ids of the entities of `world` that match it. */
export type Query = (world: IWorld) => number[];
/** A system: takes the world and returns it, so systems compose with `pipe`. */
export type System = (world: IWorld) => IWorld;

export declare const Types: { readonly i32: "i32" };
export declare function createWorld(): IWorld;
export declare function deleteWorld(world: IWorld): void;
export declare function addEntity(world: IWorld): number;
export declare function removeEntity(world: IWorld, eid: number): void;
export declare function defineComponent(schema: { value: "i32" }): { value: Int32Array };
export declare function defineComponent(): Record<string, never>;
export declare function addComponent(world: IWorld, component: Component, eid: number): void;
export declare function removeComponent(world: IWorld, component: Component, eid: number): void;
export declare function defineQuery(components: Component[]): Query;
export declare function pipe(...systems: System[]): (world: IWorld) => IWorld;
