/**
 * The cluster inspector's page: members, the partition grid coloured by
 * owner, and the log, built from the cluster stream (messages.ts).
 *
 * @module
 */

import type { Asset } from "../_site.ts";
import { CLIENT_COMMON } from "./_client.ts";
import { PAGE_STYLE, pageHead } from "./_style.ts";

const CLUSTER_HTML = pageHead("staticecs cluster", ["/style.css"]) + `
<header id="top" data-state="connecting">
  <h1>staticecs cluster</h1>
  <span id="state" class="state gone">connecting</span>
  <div class="facts">
    <span>members <b id="member-count">-</b></span>
    <span>partitions <b id="partition-count">-</b></span>
    <span>entities <b id="entity-count">-</b></span>
    <span>transfers <b id="transfer-rate">-</b>/s</span>
    <span>failovers <b id="failovers">-</b></span>
    <span>up <b id="uptime">-</b></span>
    <span id="settings"></span>
  </div>
</header>
<main>
  <section id="members" class="wide">
    <h2>Members</h2>
    <div id="member-table"></div>
  </section>
  <section id="partitions" class="wide">
    <h2>Partitions <small>coloured by owner; striped: parked in the coordinator; dashed: moving</small></h2>
    <div id="grid" class="grid"></div>
  </section>
  <section id="log" class="wide">
    <h2>Log <small>failovers, handoffs (revoke to arrival) and transfers</small></h2>
    <label><input id="show-transfers" type="checkbox" checked> transfers</label>
    <div id="log-lines" class="log scroll tall"></div>
  </section>
</main>
<script src="/app.js"></script>
</body>
</html>
`;

const CLUSTER_SCRIPT = String.raw`
const { stream, el, table, fill, num, color } = inspector;
const view = { log: [] };

function showCluster(c) {
  const live = c.members.filter((m) => m.state !== "failed" && m.state !== "left");
  fill("member-count", num(live.length));
  fill("partition-count", num(c.partitions.length));
  fill("entity-count", num(c.partitions.reduce((n, p) => n + p.entities, 0)));
  fill("transfer-rate", num(c.transfers.entitiesPerSecond));
  fill("failovers", num(c.failovers));
  fill("uptime", num(c.uptimeMs / 1000, 0) + " s");
  fill("member-table", table([
    { title: "member", value: (m) => el("span", {},
      el("span", { class: "swatch", style: "background:" + color(m.id - 1) }), "member " + m.id) },
    { title: "address", value: (m) => m.address },
    { title: "state", value: (m) => m.state },
    { title: "partitions", value: (m) => m.state === "failed" || m.state === "left"
      ? "(had " + (m.partitions.join(", ") || "none") + ")" : m.partitions.join(", ") || "-" },
    { title: "tick", num: true, value: (m) => num(m.tick) },
    { title: "ticks/s", num: true, value: (m) => num(m.ticksPerSecond, 1) },
    { title: "tick ms", num: true, value: (m) => num(m.tickMsMean, 3) },
    { title: "load", num: true, value: (m) => num(m.load * 100, 1) + "%" },
    { title: "entities", num: true, value: (m) => num(m.entities) },
    { title: "last heartbeat", num: true, value: (m) => num(m.lastHeartbeatAgoMs) + " ms ago" },
  ], c.members));
  fill("grid", c.partitions.map((p) => el("div", {
    class: "cell" + (p.state === "parked" ? " parked" : "") + (p.state === "moving" ? " moving" : ""),
    style: p.owner === null ? "" : "background:" + color(p.owner - 1),
    "data-partition": String(p.id),
    "data-owner": p.owner === null ? "" : String(p.owner),
    "data-state": p.state,
    title: "partition " + p.id + ": " + p.state + (p.owner === null ? "" : " on member " + p.owner),
  }, el("b", {}, "#" + p.id), p.owner === null ? "parked" : "member " + p.owner,
    el("div", {}, num(p.entities)))));
}

function showLog() {
  const transfers = document.getElementById("show-transfers").checked;
  const lines = view.log.filter((e) => transfers || e.kind !== "transfer").slice(-300).reverse();
  fill("log-lines", lines.map((e) => el("div", { class: e.kind },
    new Date(e.atMs).toISOString().slice(11, 23) + "  " + e.kind.padEnd(9) + " " + e.text +
    (e.ms === null ? "" : " (" + num(e.ms, 1) + " ms)"))));
}

function onMessage(message) {
  if (message.type === "hello") {
    view.log = message.log.slice();
    fill("settings", "heartbeat " + message.heartbeatIntervalMs + " ms, failure after " +
      message.failureTimeoutMs + " ms, checkpoint every " + message.checkpointEveryTicks + " ticks");
    showLog();
  } else if (message.type === "cluster") {
    const chip = document.getElementById("state");
    chip.className = "state running";
    chip.textContent = "live";
    document.getElementById("top").dataset.state = "live";
    showCluster(message);
  } else if (message.type === "log") {
    view.log.push(...message.entries);
    if (view.log.length > 500) view.log.splice(0, view.log.length - 500);
    showLog();
  }
}

function onStatus(status, why) {
  if (status !== "gone") return;
  const chip = document.getElementById("state");
  chip.className = "state gone";
  chip.textContent = "disconnected";
  chip.title = why;
  document.getElementById("top").dataset.state = "gone";
}

document.getElementById("show-transfers").onchange = showLog;
stream(onMessage, onStatus);
`;

/**
 * The cluster page's static files, by path.
 *
 * @example
 * ```ts
 * import { CLUSTER_PAGE_ASSETS } from "./cluster_page.ts";
 * CLUSTER_PAGE_ASSETS["/"].contentType; // "text/html; charset=utf-8"
 * ```
 */
export const CLUSTER_PAGE_ASSETS: Readonly<Record<string, Asset>> = {
  "/": { contentType: "text/html; charset=utf-8", body: CLUSTER_HTML },
  "/app.js": {
    contentType: "text/javascript; charset=utf-8",
    body: CLIENT_COMMON + CLUSTER_SCRIPT,
  },
  "/style.css": { contentType: "text/css; charset=utf-8", body: PAGE_STYLE },
};
