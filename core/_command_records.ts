/**
 * The records a command buffer holds: four float64 words each, `kind, a, b,
 * c`. `a` is the entity (a pending handle is negative) for entity records,
 * the system for SEGMENT, the event type's index for EMIT, the field's index
 * for EVENT_FIELD.
 *
 * | kind | a | b | c |
 * | --- | --- | --- | --- |
 * | SEGMENT | system | archetype ordinal | first chunk |
 * | SPAWN | pending ordinal | | |
 * | DESPAWN | entity | | |
 * | ADD, REMOVE | entity | component index | |
 * | SET | entity | field ordinal | value |
 * | EMIT | event type | | |
 * | EVENT_FIELD | field index | value | |
 * | ADD_EACH, REMOVE_EACH | component index | entities | |
 * | DESPAWN_EACH | | entities | |
 * | ENTITIES | three entity handles (the list after an `_EACH` record) | | |
 * | SPAWN_EACH | entities | first pending ordinal | components |
 * | COMPONENTS | three component indices (after SPAWN_EACH) | | |
 * | VALUES | three values of one field (after the COMPONENTS records) | | |
 * | EACH_ROWS | `_EACH` kind | component index | archetype |
 * | ROWS | first row | rows | 1 + where the handles were copied, or 0 |
 *
 * @module
 */

/** Starts the records of one system's run over some chunks. */
export const SEGMENT = 1;
/** Spawns an empty entity; the ADD records right after it on its handle place it at once. */
export const SPAWN = 2;
/** Despawns an entity. */
export const DESPAWN = 3;
/** Adds a component (zeroed). */
export const ADD = 4;
/** Removes a component. */
export const REMOVE = 5;
/** Sets one field of an entity. */
export const SET = 6;
/** Emits an event; its EVENT_FIELD records follow. */
export const EMIT = 7;
/** One field of the event before it. */
export const EVENT_FIELD = 8;
/** Adds a component to each of the entities listed in the ENTITIES records after it. */
export const ADD_EACH = 9;
/** Removes a component from each of the entities listed after it. */
export const REMOVE_EACH = 10;
/** Despawns each of the entities listed after it. */
export const DESPAWN_EACH = 11;
/** Four entity handles of the list of the `_EACH` record before it. */
export const ENTITIES = 12;
/**
 * Spawns a block of entities with the components listed in the COMPONENTS
 * records after it, then one run of VALUES records per field of those
 * components (in list order), three values to a record.
 */
export const SPAWN_EACH = 13;
/** Three component indices of the SPAWN_EACH record before it. */
export const COMPONENTS = 14;
/** Three values of one field of a SPAWN_EACH. */
export const VALUES = 15;
/**
 * An `_EACH` over a whole chunk, recorded by position instead of by handle
 * (no work per entity when recording); the ROWS record after it says which
 * rows. Applied in place when nothing applied before it in the stage could
 * have moved those rows (or, for a query with sparse terms, changed what
 * they match); otherwise its handles are copied before anything applies.
 */
export const EACH_ROWS = 16;
/** The rows of the EACH_ROWS before it. */
export const ROWS = 17;
/** Values (or handles, or indices) in one list record: its words after the kind. */
export const PER_RECORD = 3;
/** Words per record: a power of two, so a word's place in its record is `word & (WORDS - 1)`. */
export const WORDS = 4;
