/**
 * The version of the `staticecs` command and library.
 *
 * @module
 */

/**
 * The version string; kept equal to package.json's "version" (tests/cli_test.ts checks it).
 *
 * @example
 * ```ts
 * import { VERSION } from "./version.ts";
 * console.log(`staticecs ${VERSION}`);
 * ```
 */
export const VERSION = "0.1.0";
