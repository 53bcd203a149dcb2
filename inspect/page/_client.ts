/**
 * Browser code both inspector pages share, as a string the server sends
 * before each page's own script: the token (taken from the address's
 * `#token=` fragment, then kept in sessionStorage and cleared from the
 * address bar), requests that carry it, the live stream read with fetch (so
 * that it can carry the token too, which EventSource cannot), and small DOM
 * helpers that set text, never HTML.
 *
 * @module
 */

/** The shared browser script. */
export const CLIENT_COMMON = String.raw`
"use strict";
const inspector = (() => {
  const stored = sessionStorage.getItem("staticecs-token") || "";
  const fromHash = /(?:^#|&)token=([0-9a-f]+)/.exec(location.hash);
  const token = fromHash ? fromHash[1] : stored;
  if (fromHash) {
    sessionStorage.setItem("staticecs-token", token);
    history.replaceState(null, "", location.pathname + location.search);
  }

  function headers(extra) {
    const all = Object.assign({}, extra || {});
    if (token) all.authorization = "Bearer " + token;
    return all;
  }

  async function api(path, body) {
    const init = body === undefined
      ? { headers: headers() }
      : { method: "POST", headers: headers({ "content-type": "application/json" }),
          body: JSON.stringify(body) };
    const response = await fetch(path, init);
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error || ("HTTP " + response.status));
    return answer;
  }

  /**
   * Reads the server-sent events of /stream, calling onMessage per message and
   * onBatch after each read's messages; reconnects after it ends.
   */
  function stream(onMessage, onStatus, onBatch) {
    let retryMs = 500;
    async function run() {
      try {
        const response = await fetch("/stream", { headers: headers(), cache: "no-store" });
        if (!response.ok) {
          const text = await response.text();
          throw new Error(text.trim() || ("HTTP " + response.status));
        }
        onStatus("live", "");
        retryMs = 500;
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const event = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = event.split("\n").filter((l) => l.startsWith("data: "))
              .map((l) => l.slice(6)).join("\n");
            if (data) onMessage(JSON.parse(data));
          }
          if (onBatch) onBatch();
        }
        onStatus("gone", "the stream ended (the run or coordinator stopped?); retrying");
      } catch (error) {
        onStatus("gone", String(error.message || error));
      }
      setTimeout(run, retryMs);
      retryMs = Math.min(retryMs * 2, 5000);
    }
    run();
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else if (key === "style") node.style.cssText = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function table(columns, rows) {
    const head = el("tr", {}, columns.map((c) => el("th", { class: c.num ? "num" : "" }, c.title)));
    const body = rows.map((row) => el("tr", {}, columns.map((c) => {
      const value = c.value(row);
      return el("td", { class: c.num ? "num" : "" }, value);
    })));
    return el("table", {}, el("thead", {}, head), el("tbody", {}, body));
  }

  function fill(id, ...children) {
    const node = document.getElementById(id);
    node.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined)
      .map((c) => c instanceof Node ? c : document.createTextNode(String(c))));
    return node;
  }

  // Formatters made once per digit count: toLocaleString builds a new one on every call.
  const formats = new Map();
  function num(value, digits) {
    if (value === null || value === undefined || Number.isNaN(value)) return "-";
    const key = digits === undefined ? -1 : digits;
    let format = formats.get(key);
    if (format === undefined) {
      format = new Intl.NumberFormat("en-US", digits === undefined ? {}
        : { minimumFractionDigits: digits, maximumFractionDigits: digits });
      formats.set(key, format);
    }
    return format.format(Number(value));
  }

  const PALETTE = ["#2563eb", "#ea580c", "#16a34a", "#9333ea", "#0891b2", "#dc2626", "#ca8a04",
    "#4f46e5", "#db2777", "#65a30d", "#0d9488", "#7c3aed", "#b45309", "#be123c", "#0369a1"];
  function color(i) {
    return i < 0 ? "#98a2b3" : PALETTE[i % PALETTE.length];
  }

  return { token, api, stream, el, table, fill, num, color };
})();
`;
