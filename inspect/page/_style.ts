/**
 * What both inspector pages share in their markup: the stylesheet (served
 * as /style.css) and the document's head.
 *
 * @module
 */

/**
 * The start of a page, up to and including `<body>`: `title`, and the
 * stylesheets at `styles` (the page's own last).
 *
 * @example
 * ```ts
 * import { pageHead } from "./_style.ts";
 * const html = pageHead("staticecs cluster", ["/style.css"]) + "<main></main></body></html>";
 * ```
 */
export function pageHead(title: string, styles: readonly string[]): string {
  return [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${title}</title>`,
    ...styles.map((href) => `<link rel="stylesheet" href="${href}">`),
    "</head>",
    "<body>",
  ].join("\n");
}

/** The stylesheet. */
export const PAGE_STYLE = String.raw`
:root {
  --ink: #1d2430; --muted: #667085; --line: #d9dee7; --card: #ffffff; --page: #f3f5f9;
  --accent: #2563eb; --bad: #c2410c; --good: #15803d; --warn: #b45309;
  font: 13px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--page); }
header {
  position: sticky; top: 0; z-index: 5; display: flex; flex-wrap: wrap; gap: 6px 18px;
  align-items: center; padding: 8px 16px; background: #101828; color: #f2f4f7;
}
header h1 { font-size: 15px; margin: 0 8px 0 0; font-weight: 600; }
header .facts { display: flex; gap: 14px; flex-wrap: wrap; color: #d0d5dd; }
header .facts b { color: #fff; font-weight: 600; font-variant-numeric: tabular-nums; }
header nav { display: flex; gap: 10px; margin-left: auto; }
header nav a { color: #98a2b3; text-decoration: none; }
header nav a:hover { color: #fff; }
.controls { display: flex; gap: 6px; align-items: center; }
button, input, select {
  font: inherit; border: 1px solid var(--line); border-radius: 5px; padding: 3px 9px;
  background: #fff; color: var(--ink);
}
button { cursor: pointer; }
button:hover:not(:disabled) { border-color: var(--accent); }
button:disabled { opacity: 0.45; cursor: not-allowed; }
header button, header input { border-color: #475467; background: #1d2939; color: #f2f4f7; }
input[type=number] { width: 78px; }
.state { padding: 2px 8px; border-radius: 10px; font-weight: 600; font-size: 12px; }
.state.running { background: #dcfce7; color: var(--good); }
.state.paused { background: #fef3c7; color: var(--warn); }
.state.gone { background: #fee2e2; color: var(--bad); }
main { padding: 12px 16px 40px; display: grid; gap: 12px; grid-template-columns: 1fr 1fr; }
section {
  background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px;
  min-width: 0;
}
section.wide { grid-column: 1 / -1; }
section h2 { font-size: 13px; margin: 0 0 8px; text-transform: uppercase; letter-spacing: 0.04em; }
section h2 small { text-transform: none; letter-spacing: 0; font-weight: 400; color: var(--muted); }
section h3 { font-size: 12px; margin: 10px 0 4px; color: var(--muted); }
.note { color: var(--muted); margin: 4px 0; }
.error { color: var(--bad); }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 3px 8px 3px 0; border-bottom: 1px solid #eef0f4; vertical-align: top; }
th { color: var(--muted); font-weight: 500; }
td.num, th.num { text-align: right; }
.scroll { max-height: 280px; overflow: auto; }
.scroll.tall { max-height: 480px; }
.chip {
  display: inline-block; padding: 1px 7px; margin: 1px 3px 1px 0; border-radius: 10px;
  background: #eef2ff; color: #3730a3; font-size: 12px;
}
.chip.write { background: #fff1e7; color: #9a3412; }
.stages { display: flex; flex-direction: column; gap: 4px; }
.stage { display: flex; gap: 8px; align-items: baseline; }
.stage .label { width: 120px; color: var(--muted); flex: none; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; }
.lanes-wrap { position: relative; }
canvas.lanes { width: 100%; display: block; }
.tip {
  position: absolute; pointer-events: none; background: #101828; color: #fff; padding: 4px 7px;
  border-radius: 4px; font-size: 12px; white-space: pre; display: none; z-index: 3;
}
.row { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin-bottom: 6px; }
.entity-card { margin-top: 8px; }
a.handle { color: var(--accent); cursor: pointer; text-decoration: underline; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(64px, 1fr)); gap: 4px; }
.cell {
  border-radius: 5px; padding: 6px 4px; text-align: center; color: #fff; font-size: 11px;
  min-height: 48px; transition: background-color 0.3s;
}
.cell b { display: block; font-size: 13px; }
.cell.parked { background: repeating-linear-gradient(45deg, #98a2b3, #98a2b3 4px, #b4bcc8 4px, #b4bcc8 8px); }
.cell.moving { outline: 2px dashed #101828; }
.log { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: 12px; }
.log .failover { color: var(--bad); }
.log .handoff { color: var(--accent); }
.log .transfer { color: var(--muted); }
.u-legend { font-size: 12px; }
@media (max-width: 900px) { main { grid-template-columns: 1fr; } }
`;
