/**
 * The run page's own browser script (after CLIENT_COMMON): it turns the
 * stream's messages into the Frame, Threads, Schedule, World, Entities and
 * Backends views, and sends the controls.
 *
 * @module
 */

/** The run page's script. */
export const RUN_SCRIPT = String.raw`
const { api, stream, el, table, fill, num, color } = inspector;
const FRAME_WINDOW = 3000;   // frames the Frame chart shows
const SAMPLE_WINDOW = 300;   // samples (about 30 s) the per-system chart shows
const DECISION_WINDOW = 240; // backend messages (about 2 minutes) the decision timeline shows
const page = {
  hello: null, frames: { ticks: [], ms: [] }, samples: { t: [], systems: [] },
  decisions: [], switches: [], lanes: null, entity: null, queryOffset: 0,
};
let frameChart = null, systemsChart = null, estimatesChart = null;

function chartWidth(id) {
  return Math.max(300, document.getElementById(id).clientWidth - 4);
}

// ---- Frame ---------------------------------------------------------------

function percentile(sorted, fraction) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))];
}

function addFrames(frames) {
  const f = page.frames;
  const last = f.ticks.length ? f.ticks[f.ticks.length - 1] : -1;
  for (let i = 0; i < frames.ms.length; i++) {
    if (frames.firstTick + i <= last) continue; // a page that opened mid-sample has these
    f.ticks.push(frames.firstTick + i);
    f.ms.push(frames.ms[i]);
  }
  const extra = f.ticks.length - FRAME_WINDOW;
  if (extra > 0) { f.ticks.splice(0, extra); f.ms.splice(0, extra); }
}

function drawFrames() {
  const f = page.frames;
  const sorted = f.ms.slice().sort((a, b) => a - b);
  const median = percentile(sorted, 0.5), p99 = percentile(sorted, 0.99);
  const flat = (value) => f.ticks.map(() => value);
  const data = [f.ticks, f.ms, flat(median), flat(p99)];
  document.getElementById("frame").dataset.frames = String(f.ticks.length);
  // A few slow frames (the first ones, while the JIT warms up) would flatten the rest.
  const max = sorted.length ? sorted[sorted.length - 1] : 1;
  page.frameCeilMs = Math.min(max, Math.max(p99 * 3, median * 6, 0.01));
  fill("frame-note", "last " + num(f.ticks.length) + " ticks: median " + num(median, 3) +
    " ms, p99 " + num(p99, 3) + " ms" + (page.frameCeilMs < max ? "; slowest " + num(max, 1) +
    " ms, above the axis" : ""));
  if (frameChart === null) {
    frameChart = new uPlot({
      width: chartWidth("frame-chart"), height: 220,
      scales: { x: { time: false }, y: { range: () => [0, page.frameCeilMs] } },
      axes: [{ label: "tick" }, { label: "ms", size: 60 }],
      series: [
        { label: "tick" },
        { label: "frame", stroke: "#94a3b8", width: 1 },
        { label: "median", stroke: "#2563eb", width: 2 },
        { label: "p99", stroke: "#dc2626", width: 2, dash: [6, 4] },
      ],
    }, data, document.getElementById("frame-chart"));
  } else {
    frameChart.setData(data);
  }
}

// ---- Time per system -----------------------------------------------------

function addSystems(tMs, systemMs) {
  const s = page.samples;
  s.t.push(tMs / 1000);
  s.systems.push(systemMs);
  if (s.t.length > SAMPLE_WINDOW) { s.t.shift(); s.systems.shift(); }
}

function drawSystems() {
  const names = page.hello.systems.map((x) => x.name);
  const s = page.samples;
  // Cumulative sums, top series first: each filled area is painted over the one above it.
  const stacked = names.map(() => []);
  for (const row of s.systems) {
    let sum = 0;
    names.forEach((_, i) => { sum += row[i] === null ? 0 : row[i]; stacked[i].push(sum); });
  }
  const order = names.map((_, i) => i).reverse();
  const data = [s.t, ...order.map((i) => stacked[i])];
  if (systemsChart === null) {
    systemsChart = new uPlot({
      width: chartWidth("systems-chart"), height: 220,
      scales: { x: { time: false } },
      axes: [{ label: "seconds" }, { label: "ms", size: 60 }],
      series: [{ label: "s" }, ...order.map((i) => ({
        label: names[i], stroke: color(i), fill: color(i) + "cc", width: 1,
        value: (u, v, si, di) => di === null ? "-" : num(own(i, di), 3),
      }))],
    }, data, document.getElementById("systems-chart"));
  } else {
    systemsChart.setData(data);
  }
}

function own(system, index) {
  const value = page.samples.systems[index][system];
  return value === null ? NaN : value;
}

// ---- Threads -------------------------------------------------------------

const LANE_HEIGHT = 26, LANE_TOP = 18, LANE_LEFT = 70;

function drawLanes() {
  const lanes = page.lanes;
  const hello = page.hello;
  const section = document.getElementById("threads");
  const canvas = document.getElementById("lanes");
  if (hello.threads <= 1) {
    fill("threads-note", "backend " + hello.backend +
      " runs every system on one thread: lanes show on work-stealing and adaptive");
    return;
  }
  if (lanes === null) return;
  const threads = hello.threads;
  const width = canvas.clientWidth || 800;
  const height = LANE_TOP + threads * LANE_HEIGHT + 4;
  const g = sizeCanvas(canvas, width, height);
  const frames = frameWindows(lanes);
  const x = frameScale(frames, LANE_LEFT, width - 8);
  g.font = "11px system-ui, sans-serif";
  for (let t = 0; t < threads; t++) {
    const y = LANE_TOP + t * LANE_HEIGHT;
    g.fillStyle = t % 2 ? "#f8fafc" : "#ffffff";
    g.fillRect(LANE_LEFT, y, width - LANE_LEFT, LANE_HEIGHT);
    g.fillStyle = "#475467";
    g.fillText(t === 0 ? "main (0)" : "worker " + t, 4, y + 16);
  }
  for (const [thread, start, end] of lanes.parks) {
    const y = LANE_TOP + thread * LANE_HEIGHT;
    for (const f of frames) {
      const from = Math.max(start, f.start), to = Math.min(end, f.end);
      if (to <= from) continue;
      g.fillStyle = "rgba(152,162,179,0.35)";
      g.fillRect(x(from), y + 2, Math.max(1, x(to) - x(from)), LANE_HEIGHT - 4);
    }
  }
  drawStages(g, lanes, x, height);
  page.boxes = [];
  for (const task of lanes.tasks) drawTask(g, task, x);
  section.dataset.tasks = String(lanes.tasks.length);
  section.dataset.threads = String(new Set(lanes.tasks.map((t) => t[0])).size);
  const stolen = lanes.tasks.filter((t) => t[7] === 1).length;
  fill("threads-note", "the last " + frames.length + " frames (" + frames.map((f) =>
    "tick " + f.tick + ": " + num(f.end - f.start, 3) + " ms").join(", ") + "), side by side: " +
    lanes.tasks.length + " tasks, " + stolen + " stolen (red corner); shaded: parked; " +
    "lines: stage boundaries; blue tint: a stage run inline");
  fill("thread-stats", table([
    { title: "thread", value: (r) => r.thread === 0 ? "main (0)" : "worker " + r.thread },
    { title: "tasks run", num: true, value: (r) => num(r.tasksExecuted) },
    { title: "stolen", num: true, value: (r) => num(r.tasksStolen) },
    { title: "busy ms", num: true, value: (r) => num(r.busyMs) },
    { title: "parked ms", num: true, value: (r) => num(r.parkedMs) },
  ], lanes.threads));
}

/**
 * The canvas's context, scaled for the screen and cleared; its backing store
 * is reallocated only when its size changes.
 */
function sizeCanvas(canvas, width, height) {
  const ratio = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio); canvas.height = Math.round(height * ratio);
    canvas.style.height = height + "px";
  }
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  return g;
}

/** Each frame's time window, from its stages' records, oldest first. */
function frameWindows(lanes) {
  const byTick = new Map();
  for (const [start, end, , tick] of lanes.stages) {
    const f = byTick.get(tick) || { tick, start, end };
    f.start = Math.min(f.start, start); f.end = Math.max(f.end, end);
    byTick.set(tick, f);
  }
  return [...byTick.values()].sort((a, b) => a.tick - b.tick);
}

/**
 * Milliseconds to x: frames side by side, each as wide as it is long, with a
 * small gap between them (the time between frames, paused or idle, left out).
 */
function frameScale(frames, left, right) {
  const GAP = 10;
  const total = frames.reduce((sum, f) => sum + Math.max(0.001, f.end - f.start), 0);
  const perMs = Math.max(0, right - left - GAP * (frames.length - 1)) / Math.max(0.001, total);
  let at = left;
  const offsets = frames.map((f) => {
    const start = at;
    at += Math.max(0.001, f.end - f.start) * perMs + GAP;
    return start;
  });
  return (ms) => {
    let i = frames.length - 1;
    while (i > 0 && ms < frames[i].start) i--;
    return offsets[i] + (Math.min(ms, frames[i].end) - frames[i].start) * perMs;
  };
}

function drawStages(g, lanes, x, height) {
  const hello = page.hello;
  let lastTick = null;
  for (const [start, end, stage, tick, parallel] of lanes.stages) {
    g.strokeStyle = tick !== lastTick ? "#101828" : "#98a2b3";
    g.setLineDash(tick !== lastTick ? [] : [3, 3]);
    g.beginPath(); g.moveTo(x(start), 2); g.lineTo(x(start), height); g.stroke();
    g.setLineDash([]);
    const s = hello.stages[stage];
    g.fillStyle = "#475467";
    const label = (tick !== lastTick ? "tick " + tick + " " : "") + s.phase + ":" + s.index +
      (parallel ? "" : " inline");
    if (x(end) - x(start) > 40) g.fillText(label, x(start) + 3, 12);
    if (!parallel) {
      g.fillStyle = "rgba(37,99,235,0.10)";
      g.fillRect(x(start), LANE_TOP, Math.max(1, x(end) - x(start)), LANE_HEIGHT);
    }
    lastTick = tick;
  }
}

function drawTask(g, task, x) {
  const [thread, start, end, system, archetype, first, last, stolen] = task;
  const y = LANE_TOP + thread * LANE_HEIGHT + 3;
  const x0 = x(start), w = Math.max(1, x(end) - x0), h = LANE_HEIGHT - 6;
  g.fillStyle = color(system);
  g.fillRect(x0, y, w, h);
  const name = page.hello.systems[system].name;
  const chunks = archetype === -1 ? "run" : archetype === -2 ? "whole query"
    : "archetype " + archetype + ", chunks " + first + "-" + (last - 1);
  if (w > 50) {
    g.fillStyle = "#fff";
    g.fillText(name, x0 + 3, y + 13, w - 6);
  }
  if (stolen) {
    g.fillStyle = "#dc2626";
    g.beginPath(); g.moveTo(x0, y); g.lineTo(x0 + 8, y); g.lineTo(x0, y + 8); g.fill();
  }
  page.boxes.push({ x0, x1: x0 + w, y0: y, y1: y + h,
    text: name + " (" + chunks + ")\n" + num(end - start, 3) + " ms on " +
      (thread === 0 ? "the main thread" : "worker " + thread) + (stolen ? ", stolen" : "") });
}

function laneTip(event) {
  const canvas = document.getElementById("lanes");
  const tip = document.getElementById("lanes-tip");
  const rect = canvas.getBoundingClientRect();
  const mx = event.clientX - rect.left, my = event.clientY - rect.top;
  const box = (page.boxes || []).find((b) => mx >= b.x0 && mx <= b.x1 && my >= b.y0 && my <= b.y1);
  if (!box) { tip.style.display = "none"; return; }
  tip.textContent = box.text;
  tip.style.display = "block";
  tip.style.left = Math.min(mx + 12, rect.width - 220) + "px";
  tip.style.top = (my + 14) + "px";
}

// ---- Schedule ------------------------------------------------------------

function drawSchedule() {
  const hello = page.hello;
  const systemIndex = new Map(hello.systems.map((s, i) => [s.name, i]));
  fill("stages", hello.stages.map((stage) => el("div", { class: "stage" },
    el("span", { class: "label" }, stage.phase + " " + stage.index),
    el("span", {}, stage.systems.map((name) => el("span", { class: "chip" },
      el("span", { class: "swatch", style: "background:" + color(systemIndex.get(name)) }),
      name))))));
  fill("access", table([
    { title: "system", value: (s) => s.name },
    { title: "phase", value: (s) => s.phase },
    { title: "reads", value: (s) => access(s.name).undeclared ? "anything (undeclared)"
      : access(s.name).reads.map((r) => el("span", { class: "chip" }, r)) },
    { title: "writes", value: (s) => access(s.name).writes.map((w) =>
      el("span", { class: "chip write" }, w)) },
    { title: "query", value: (s) => s.query || "run once per tick" },
  ], hello.systems));
  drawApart();
}

function access(name) {
  return page.hello.access[name];
}

function drawApart() {
  const filter = document.getElementById("apart-filter").value.trim();
  const rows = page.hello.apart.filter((a) => !filter || a.first.includes(filter) ||
    a.second.includes(filter));
  fill("apart", rows.length === 0 ? el("p", { class: "note" }, "no pairs") : table([
    { title: "first", value: (a) => a.first },
    { title: "second", value: (a) => a.second },
    { title: "why", value: (a) => a.why },
  ], rows));
}

// ---- World ---------------------------------------------------------------

function drawWorld(world) {
  fill("world-note", "tick " + num(world.tick) + ", " + num(world.entities) + " entities in " +
    world.archetypes.length + " archetypes (" + world.emptyArchetypes + " empty not shown)");
  fill("archetypes", table([
    { title: "id", num: true, value: (a) => a.id },
    { title: "components", value: (a) => a.components.join(", ") || "(none)" },
    { title: "entities", num: true, value: (a) => num(a.entities) },
    { title: "chunks", num: true, value: (a) => num(a.chunks) },
    { title: "KiB", num: true, value: (a) => num(a.bytes / 1024, 1) },
  ], world.archetypes));
  const fields = world.resources.flatMap((r) => r.fields.map((f) => ({ resource: r.name, f })));
  fill("resources", table([
    { title: "resource", value: (x) => x.resource },
    { title: "field", value: (x) => x.f.name + (x.f.length > 1 ? "[" + x.f.length + "]" : "") },
    { title: "type", value: (x) => x.f.type },
    { title: "value", value: (x) => x.f.values.map((v) => num(v, Number.isInteger(v) ? 0 : 4))
      .join(", ") + (x.f.length > x.f.values.length ? ", ... (" +
      (x.f.length - x.f.values.length) + " more)" : "") },
  ], fields));
  fill("events", world.events.length === 0 ? el("p", { class: "note" }, "no event types") : table([
    { title: "event", value: (e) => e.name },
    { title: "last frame", num: true, value: (e) => num(e.lastFrame) },
    { title: "frame before", num: true, value: (e) => num(e.frameBefore) },
    { title: "capacity", num: true, value: (e) => num(e.capacity) },
    { title: "since start", num: true, value: (e) => num(e.total) },
  ], world.events));
}

// ---- Entities ------------------------------------------------------------

async function lookUp(handle) {
  page.entity = String(handle).trim();
  document.getElementById("handle").value = page.entity;
  await refreshEntity();
}

async function refreshEntity() {
  if (!page.entity) return;
  const card = document.getElementById("entity-card");
  try {
    const e = await api("/api/entity?handle=" + encodeURIComponent(page.entity));
    card.dataset.handle = String(e.handle);
    card.dataset.alive = String(e.alive);
    const title = el("h3", {}, "entity #" + e.handle + " (index " + e.index + ", generation " +
      e.generation + ")" + (e.alive ? ", archetype " + e.archetype : ""));
    if (!e.alive) {
      fill("entity-card", title, el("p", { class: "error" }, e.why));
      return;
    }
    fill("entity-card", title, e.components.map((c) => el("div", {},
      el("b", {}, c.name), Object.keys(c.values).length === 0 ? el("span", { class: "note" }, " (tag)")
        : table([{ title: "field", value: (k) => k },
          { title: "value", num: true, value: (k) => num(c.values[k], 4) }],
          Object.keys(c.values)))));
  } catch (error) {
    card.dataset.alive = "error";
    fill("entity-card", el("p", { class: "error" }, error.message));
  }
}

async function walkQuery(offset) {
  const system = document.getElementById("query-system").value;
  const all = document.getElementById("query-all").value.trim();
  const query = all ? "all=" + encodeURIComponent(all) : "system=" + encodeURIComponent(system);
  try {
    const page_ = await api("/api/query?" + query + "&offset=" + offset + "&limit=50");
    page.queryOffset = offset + page_.entities.length >= page_.total ? 0 : offset + 50;
    fill("query-result", el("p", { class: "note" }, page_.query + ": " + num(page_.total) +
      " entities; showing " + (page_.entities.length ? (offset + 1) + "-" +
      (offset + page_.entities.length) : "none")),
      el("div", {}, page_.entities.map((h) => [el("a", { class: "handle",
        onclick: () => lookUp(h) }, "#" + h), " "])));
  } catch (error) {
    fill("query-result", el("p", { class: "error" }, error.message));
  }
}

// ---- Backends ------------------------------------------------------------

function drawBackend(message) {
  fill("backend-note", message.name);
  fill("counters", table([
    { title: "counter", value: (k) => k },
    { title: "value", num: true, value: (k) => num(message.counters[k]) },
  ], Object.keys(message.counters)));
  const parts = [];
  if (message.stages) {
    parts.push(el("h3", {}, "Adaptive: per stage"), table([
      { title: "stage", value: (r) => r.stage },
      { title: "systems", value: (r) => r.systems },
      { title: "mode", value: (r) => r.mode },
      { title: "inline ms", num: true, value: (r) => num(r.inlineMs, 4) },
      { title: "parallel ms", num: true, value: (r) => num(r.parallelMs, 4) },
      { title: "runs", num: true, value: (r) => num(r.inlineRuns) + " / " + num(r.parallelRuns) },
      { title: "switches", num: true, value: (r) => r.switches },
      { title: "why", value: (r) => r.why },
    ], message.stages));
    parts.push(el("h3", {}, "Decisions over time (blue: parallel or batched; grey: inline or direct)"),
      el("canvas", { id: "decisions", class: "lanes" }));
    parts.push(el("h3", {}, "Estimates over time (mean ms per run, by mode)"),
      el("div", { id: "estimates-chart" }));
    parts.push(el("h3", {}, "Switches"), switchTable());
  }
  fill("adaptive", parts);
  if (message.stages) { drawDecisions(); drawEstimates(); }
  drawIo(message);
}

function switchTable() {
  if (page.switches.length === 0) return el("p", { class: "note" }, "no switch yet");
  return el("div", { class: "scroll" }, table([
    { title: "s", num: true, value: (s) => num(s.tMs / 1000, 1) },
    { title: "tick", num: true, value: (s) => num(s.tick) },
    { title: "stage", value: (s) => s.stage },
    { title: "change", value: (s) => s.from + " -> " + s.to },
    { title: "estimates", value: (s) => s.reason },
  ], page.switches.slice().reverse()));
}

function drawDecisions() {
  const canvas = document.getElementById("decisions");
  const rows = page.decisions.length ? page.decisions[page.decisions.length - 1] : null;
  if (!canvas || !rows) return;
  const labels = rows.stages.map((r) => r.stage).concat(rows.io.map((r) => r.phase + ":io"));
  const width = canvas.clientWidth || 600, height = labels.length * 18 + 4;
  const g = sizeCanvas(canvas, width, height);
  g.font = "11px system-ui, sans-serif";
  const n = page.decisions.length, left = 90, w = (width - left) / Math.max(1, n);
  labels.forEach((label, row) => {
    g.fillStyle = "#475467";
    g.fillText(label, 2, row * 18 + 13);
    page.decisions.forEach((d, i) => {
      const r = row < d.stages.length ? d.stages[row] : d.io[row - d.stages.length];
      if (!r) return;
      const on = r.mode === "parallel" || r.mode === "batched";
      g.fillStyle = on ? "#2563eb" : "#cbd5e1";
      g.fillRect(left + i * w, row * 18 + 3, Math.ceil(w), 13);
    });
  });
}

function drawEstimates() {
  const holder = document.getElementById("estimates-chart");
  if (!holder) return;
  const stages = page.decisions[page.decisions.length - 1].stages.map((r) => r.stage);
  const t = page.decisions.map((d) => d.tMs / 1000);
  const series = [], data = [t];
  stages.forEach((stage, i) => {
    for (const mode of ["inline", "parallel"]) {
      series.push({ label: stage + " " + mode, stroke: color(i), width: mode === "inline" ? 1 : 2,
        dash: mode === "inline" ? [4, 3] : undefined });
      data.push(page.decisions.map((d) => {
        const r = d.stages.find((x) => x.stage === stage);
        const v = r ? r[mode + "Ms"] : null;
        return v ? v : null;
      }));
    }
  });
  if (estimatesChart !== null) estimatesChart.destroy();
  estimatesChart = new uPlot({
    width: chartWidth("estimates-chart"), height: 180, scales: { x: { time: false } },
    axes: [{ label: "seconds" }, { label: "ms", size: 60 }],
    series: [{ label: "s" }, ...series],
  }, data, holder);
}

function drawIo(message) {
  const parts = [];
  if (message.io) {
    parts.push(el("h3", {}, "Adaptive: I/O per phase"), table([
      { title: "phase", value: (r) => r.phase },
      { title: "mode", value: (r) => r.mode },
      { title: "batched ms/op", num: true, value: (r) => num(r.batchedMsPerOp, 4) },
      { title: "direct ms/op", num: true, value: (r) => num(r.directMsPerOp, 4) },
      { title: "operations", num: true, value: (r) => num(r.operations) },
      { title: "failures", num: true, value: (r) => num(r.failures) },
      { title: "why", value: (r) => r.why },
    ], message.io));
  }
  const ex = message.executor;
  if (ex) {
    const errors = Object.keys(ex.errors);
    parts.push(el("h3", {}, "I/O executor: " + ex.kind), el("p", { class: "note" }, ex.reason),
      table([{ title: "counter", value: (k) => k },
        { title: "value", num: true, value: (k) => num(ex.counters[k]) }],
        Object.keys(ex.counters)),
      el("p", {}, errors.length === 0 ? "no failed operation"
        : "failed operations: " + errors.map((k) => k + " " + ex.errors[k]).join(", ")));
  }
  fill("io", parts);
}

// ---- Header and controls -------------------------------------------------

function showState(state) {
  const top = document.getElementById("top");
  top.dataset.tick = String(state.tick);
  top.dataset.state = state.paused ? "paused" : "running";
  fill("tick", num(state.tick));
  fill("entities", num(state.entities));
  fill("pace", state.paceHz === null ? "max" : num(state.paceHz) + "/s");
  const chip = document.getElementById("state");
  chip.className = "state " + (state.paused ? "paused" : "running");
  chip.textContent = state.paused ? "paused" : "running";
  const canControl = Boolean(inspector.token);
  document.getElementById("pause").disabled = !canControl || state.paused;
  document.getElementById("resume").disabled = !canControl || !state.paused;
  document.getElementById("step").disabled = !canControl || !state.paused;
  for (const id of ["pace-hz", "set-pace", "unpace"]) document.getElementById(id).disabled = !canControl;
}

async function control(body) {
  try {
    const answer = await api("/api/control", body);
    showState(answer.state);
    document.getElementById("top").dataset.answer = JSON.stringify(answer.state);
    fill("control-note", "");
  } catch (error) {
    fill("control-note", error.message);
  }
}

function onStatus(status, why) {
  const chip = document.getElementById("state");
  if (status === "gone") {
    chip.className = "state gone";
    chip.textContent = "disconnected";
    document.getElementById("top").dataset.state = "gone";
    fill("control-note", why);
  }
}

// ---- Messages ------------------------------------------------------------

function onHello(hello) {
  page.hello = hello;
  page.frames = { ticks: [], ms: [] };
  page.samples = { t: [], systems: [] };
  page.switches = hello.switches.slice();
  page.decisions = [];
  fill("scene", hello.scene);
  fill("backend", hello.backend);
  fill("runtime", hello.runtime + ", seed " + hello.seed + ", dt 1/" + hello.hz + " s");
  document.title = hello.scene + " - staticecs inspector";
  fill("control-note", inspector.token ? "" : "read-only: open the address with #token=... to control");
  const select = fill("query-system", hello.systems.filter((s) => s.query).map((s) =>
    el("option", { value: s.name }, "query of " + s.name)));
  select.disabled = select.options.length === 0;
  addFrames(hello.frames);
  drawFrames();
  drawSchedule();
  drawLanes();
  showState(hello.state);
}

/**
 * Views are drawn when a write of the stream has arrived (about once a
 * second), at most RENDER_INTERVAL_MS apart, and only those on screen: the
 * browser often shares the machine with the run it watches, and each time it
 * wakes up it takes the run's cores for a moment. So it wakes once a second,
 * with no timer of its own.
 */
const RENDER_INTERVAL_MS = 900;
let renderedAtMs = 0;
const dirty = new Set();
const onScreen = new Set();
const pending = { state: null, rate: null, world: null, backend: null };

function render() {
  if (document.hidden) return;
  renderedAtMs = performance.now();
  if (document.getElementById("live").checked) refreshEntity();
  if (pending.state) { showState(pending.state); pending.state = null; }
  if (pending.rate !== null) { fill("rate", num(pending.rate)); pending.rate = null; }
  const draw = {
    frame: drawFrames, systems: drawSystems, threads: drawLanes,
    world: () => drawWorld(pending.world), backends: () => drawBackend(pending.backend),
  };
  for (const view of [...dirty]) {
    if (!onScreen.has(view)) continue;
    dirty.delete(view);
    draw[view]();
  }
}

function onMessage(message) {
  switch (message.type) {
    case "hello": return onHello(message);
    case "sample":
      pending.state = message.state;
      pending.rate = message.ticksPerSecond;
      addFrames(message.frames);
      addSystems(message.tMs, message.systemMs);
      dirty.add("frame"); dirty.add("systems");
      return;
    case "threads": page.lanes = message; dirty.add("threads"); return;
    case "world": pending.world = message; dirty.add("world"); return;
    case "backend":
      pending.backend = message;
      if (message.stages) {
        page.decisions.push({ tMs: message.tMs, stages: message.stages, io: message.io || [] });
        if (page.decisions.length > DECISION_WINDOW) page.decisions.shift();
      }
      dirty.add("backends");
      return;
    case "switch":
      page.switches.push(message);
      if (page.switches.length > 200) page.switches.shift();
      return;
  }
}

function onBatch() {
  if (performance.now() - renderedAtMs >= RENDER_INTERVAL_MS) render();
}

const screenWatch = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    if (entry.isIntersecting) onScreen.add(entry.target.id);
    else onScreen.delete(entry.target.id);
  }
  if (entries.some((e) => e.isIntersecting && dirty.has(e.target.id))) render();
});
for (const id of ["frame", "systems", "threads", "world", "backends"]) {
  screenWatch.observe(document.getElementById(id));
}

document.getElementById("pause").onclick = () => control({ action: "pause" });
document.getElementById("resume").onclick = () => control({ action: "resume" });
document.getElementById("step").onclick = () => control({ action: "step" });
document.getElementById("set-pace").onclick = () =>
  control({ action: "pace", hz: Number(document.getElementById("pace-hz").value) });
document.getElementById("unpace").onclick = () => control({ action: "pace", hz: null });
document.getElementById("lookup").onclick = () => lookUp(document.getElementById("handle").value);
document.getElementById("handle").onkeydown = (e) => {
  if (e.key === "Enter") lookUp(e.target.value);
};
document.getElementById("query").onclick = () => walkQuery(0);
document.getElementById("query-more").onclick = () => walkQuery(page.queryOffset);
document.getElementById("apart-filter").oninput = drawApart;
document.getElementById("lanes").onmousemove = laneTip;
document.getElementById("lanes").onmouseleave = () => {
  document.getElementById("lanes-tip").style.display = "none";
};
window.addEventListener("resize", () => {
  if (frameChart) frameChart.setSize({ width: chartWidth("frame-chart"), height: 220 });
  if (systemsChart) systemsChart.setSize({ width: chartWidth("systems-chart"), height: 220 });
  drawLanes();
});
stream(onMessage, onStatus, onBatch);
`;
