/**
 * Imported first by the CLI's worker entry: under Bun it registers the
 * plugin that maps "staticecs" to this copy of the API (each thread
 * registers its own); under Deno, deno.json maps the name and this does
 * nothing.
 *
 * @module
 */

import { registerApiPlugin } from "./_bun_plugin.ts";
import { hostName } from "../core/_host.ts";

if (hostName() === "bun") registerApiPlugin();
