/**
 * The run inspector's page: one HTML document, its script and styles, and
 * the uPlot library, served as static files from these strings. Line charts
 * (frame time, time per system, the adaptive backend's estimates) are uPlot;
 * the thread lanes and the decision timeline are drawn on a canvas by hand,
 * since uPlot has no chart of boxes on lanes. The script builds every view
 * from the stream's messages (messages.ts) and the API; it sets text, never
 * HTML, so names from a scene cannot inject markup.
 *
 * @module
 */

import type { Asset } from "../_site.ts";
import { CLIENT_COMMON } from "./_client.ts";
import { PAGE_STYLE, pageHead } from "./_style.ts";
import { UPLOT_SCRIPT, UPLOT_STYLE } from "./_uplot.ts";
import { RUN_SCRIPT } from "./_run_script.ts";

const RUN_HTML = pageHead("staticecs inspector", ["/uplot.css", "/style.css"]) + `
<header id="top" data-tick="-1" data-state="connecting">
  <h1 id="scene">staticecs</h1>
  <span id="state" class="state gone">connecting</span>
  <div class="facts">
    <span>backend <b id="backend">-</b></span>
    <span>tick <b id="tick">-</b></span>
    <span>entities <b id="entities">-</b></span>
    <span>ticks/s <b id="rate">-</b></span>
    <span>pace <b id="pace">-</b></span>
    <span id="runtime"></span>
  </div>
  <div class="controls">
    <button id="pause" disabled>Pause</button>
    <button id="resume" disabled>Resume</button>
    <button id="step" disabled>Step</button>
    <input id="pace-hz" type="number" min="1" step="1" placeholder="ticks/s" disabled>
    <button id="set-pace" disabled>Pace</button>
    <button id="unpace" disabled>Max</button>
    <span id="control-note" class="note"></span>
  </div>
  <nav>
    <a href="#frame">Frame</a><a href="#threads">Threads</a><a href="#schedule">Schedule</a>
    <a href="#world">World</a><a href="#entities">Entities</a><a href="#backends">Backends</a>
  </nav>
</header>
<main>
  <section id="frame" data-frames="0">
    <h2>Frame <small id="frame-note"></small></h2>
    <div id="frame-chart"></div>
  </section>
  <section id="systems">
    <h2>Time per system <small>mean ms per call, stacked, per sample</small></h2>
    <div id="systems-chart"></div>
  </section>
  <section id="threads" class="wide" data-tasks="0" data-threads="0">
    <h2>Threads <small id="threads-note"></small></h2>
    <div class="lanes-wrap"><canvas id="lanes" class="lanes"></canvas><div id="lanes-tip" class="tip"></div></div>
    <div id="thread-stats"></div>
  </section>
  <section id="schedule">
    <h2>Schedule <small>systems in one stage may run at the same time</small></h2>
    <div id="stages" class="stages"></div>
    <h3>Access</h3><div id="access" class="scroll"></div>
    <h3>Why systems are apart</h3>
    <input id="apart-filter" placeholder="filter by system name">
    <div id="apart" class="scroll"></div>
  </section>
  <section id="world">
    <h2>World <small id="world-note"></small></h2>
    <h3>Archetypes</h3><div id="archetypes" class="scroll"></div>
    <h3>Resources</h3><div id="resources" class="scroll"></div>
    <h3>Event queues</h3><div id="events"></div>
  </section>
  <section id="entities">
    <h2>Entities</h2>
    <div class="row">
      <input id="handle" placeholder="handle, e.g. 258">
      <button id="lookup">Look up</button>
      <label><input id="live" type="checkbox" checked> refresh live</label>
    </div>
    <div class="row">
      <select id="query-system"></select>
      <input id="query-all" placeholder="or components: Position,Velocity">
      <button id="query">Walk</button>
      <button id="query-more">Next page</button>
    </div>
    <div id="query-result" class="scroll"></div>
    <div id="entity-card" class="entity-card" data-handle="" data-alive=""></div>
  </section>
  <section id="backends">
    <h2>Backends <small id="backend-note"></small></h2>
    <div id="counters"></div>
    <div id="adaptive"></div>
    <div id="io"></div>
  </section>
</main>
<script src="/uplot.js"></script>
<script src="/app.js"></script>
</body>
</html>
`;

/**
 * The run page's static files, by path.
 *
 * @example
 * ```ts
 * import { RUN_PAGE_ASSETS } from "./run_page.ts";
 * RUN_PAGE_ASSETS["/"].contentType; // "text/html; charset=utf-8"
 * ```
 */
export const RUN_PAGE_ASSETS: Readonly<Record<string, Asset>> = {
  "/": { contentType: "text/html; charset=utf-8", body: RUN_HTML },
  "/app.js": {
    contentType: "text/javascript; charset=utf-8",
    body: CLIENT_COMMON + RUN_SCRIPT,
  },
  "/style.css": { contentType: "text/css; charset=utf-8", body: PAGE_STYLE },
  "/uplot.js": { contentType: "text/javascript; charset=utf-8", body: UPLOT_SCRIPT },
  "/uplot.css": { contentType: "text/css; charset=utf-8", body: UPLOT_STYLE },
};
