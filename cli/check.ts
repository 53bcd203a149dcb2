/**
 * `staticecs check <scene.ts>`: loads and validates a scene without running
 * a tick (its schema and bounds, each system's declared access against the
 * scene, the schedule, and its setup with the world it builds), prints the stage plan with, for each pair of systems
 * of a phase that do not share a stage, what keeps them apart, and
 * type-checks the file where a type checker is present. Exit 0 when clean; 2
 * with one line per problem otherwise.
 *
 * @module
 */

import path from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { DEFAULT_SEED, type Runtime } from "../core/runtime.ts";
import { describeSchedule, type SchedulePlan } from "../core/schedule.ts";
import { ownerOf } from "../core/schema.ts";
import { rephraseParseError, wantsHelp } from "./_args.ts";
import { backendFactory } from "./_backends.ts";
import { BadInput, EXIT_BAD_INPUT, EXIT_OK } from "./_failure.ts";
import { loadScene } from "./_load_scene.ts";
import { startRuntime } from "./_start_runtime.ts";
import { type TypeCheck, typeCheckScene } from "./_type_check.ts";
import { archetypeList, resourceStores, sceneComponents } from "../core/_world_internal.ts";

/** Usage of `staticecs check`. */
export const CHECK_USAGE = `Usage: staticecs check <scene.ts> [options]

Loads and validates a scene without running a tick: its components,
resources, events and bounds, each system's declared access, the schedule,
and its setup (the entities it spawns, within the scene's bounds). Prints
which systems share a stage and, for each pair of a phase that does not,
what keeps them apart. Type-checks the file with deno check where a type
checker is present (from the sources; the compiled binary has none).

Options:
  --no-types   skip the type check
  --json       print the plan as one JSON object on stdout
  -h, --help   show this help

Exit codes: 0 clean, 2 one line per problem (on stderr).
`;

/** The plan `check` prints. */
export interface CheckPlan extends SchedulePlan {
  readonly scene: string;
  readonly file: string;
  readonly components: readonly string[];
  readonly resources: readonly string[];
  readonly events: readonly string[];
  /** What setup built. */
  readonly entities: number;
  readonly archetypes: number;
  readonly types: TypeCheck;
}

/**
 * Runs `staticecs check` with the arguments after `check`; resolves to the exit code.
 *
 * @example
 * ```ts ignore
 * const code = await checkCommand(["examples/tour.ts"]);
 * ```
 */
export async function checkCommand(args: string[]): Promise<number> {
  if (wantsHelp(args)) {
    process.stdout.write(CHECK_USAGE);
    return EXIT_OK;
  }
  const options = parseCheckArgs(args);
  const loaded = await loadScene(options.file);
  const runtime = await startRuntime(loaded, {
    seed: DEFAULT_SEED,
    hz: undefined,
    backend: backendFactory("blocking"),
  });
  let plan: CheckPlan;
  try {
    const types: TypeCheck = options.types
      ? typeCheckScene(options.file, path.resolve(options.file))
      : { checked: false, how: "not type-checked (--no-types)", problems: [] };
    plan = buildPlan(runtime, loaded.name, options.file, types);
  } finally {
    await runtime.close();
  }
  process.stdout.write(options.json ? JSON.stringify(plan) + "\n" : formatPlan(plan));
  for (const problem of plan.types.problems) process.stderr.write(`${problem}\n`);
  return plan.types.problems.length > 0 ? EXIT_BAD_INPUT : EXIT_OK;
}

function parseCheckArgs(args: string[]): { file: string; types: boolean; json: boolean } {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        "no-types": { type: "boolean", default: false },
        json: { type: "boolean", default: false },
      },
    });
  } catch (error) {
    throw rephraseParseError("check", error, args);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) {
    throw new BadInput(
      `check takes one scene file: staticecs check <scene.ts>; got ${positionals.length}`,
    );
  }
  return { file: positionals[0], types: !values["no-types"], json: values.json };
}

function buildPlan(runtime: Runtime, scene: string, file: string, types: TypeCheck): CheckPlan {
  const { schedule, world } = runtime;
  const names = (list: readonly { name: string }[]) => list.map((o) => o.name);
  return {
    scene,
    file,
    components: names(world[sceneComponents]),
    resources: names([...world[resourceStores].keys()]),
    events: (runtime.scene.events ?? []).map((e) => ownerOf(e).name),
    entities: world.entityCount,
    archetypes: world[archetypeList].filter((a) => a.count > 0).length,
    ...describeSchedule(schedule),
    types,
  };
}

function formatPlan(plan: CheckPlan): string {
  const list = (items: readonly string[]) => items.join(", ") || "none";
  const lines = [
    `scene       ${plan.scene} (${plan.file})`,
    `components  ${list(plan.components)}`,
    `resources   ${list(plan.resources)}`,
    `events      ${list(plan.events)}`,
    `setup       ${plan.entities} entities in ${plan.archetypes} archetypes`,
    `types       ${plan.types.checked ? plan.types.how + ": " : ""}${
      plan.types.checked
        ? (plan.types.problems.length === 0
          ? "no errors"
          : `${plan.types.problems.length} errors (on stderr)`)
        : plan.types.how
    }`,
    "stages      systems in one stage may run at the same time",
  ];
  for (const stage of plan.stages) {
    lines.push(`  ${stage.phase} ${stage.index}`.padEnd(20) + stage.systems.join(", "));
  }
  lines.push("access");
  for (const [name, a] of Object.entries(plan.access)) {
    const what = a.undeclared
      ? "declares nothing: conflicts with every system"
      : `reads ${list(a.reads)}; writes ${list(a.writes)}`;
    lines.push(`  ${name}`.padEnd(20) + what);
  }
  if (plan.apart.length > 0) {
    lines.push("apart       why systems of one phase are in different stages");
  }
  for (const { first, second, why } of plan.apart) {
    lines.push(`  ${first} / ${second}: ${why}`);
  }
  return lines.join("\n") + "\n";
}
