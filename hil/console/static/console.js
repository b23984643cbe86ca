// The hil console page: draws the frames of /api/stream (a snapshot, then deltas about ten times a
// wall second). Charts by uPlot (bundled, MIT). Nothing is loaded from anywhere but this console.
"use strict";

const UNITS = [["_rpm", "rpm", 1], ["_pa", "kPa", 1e-3], ["_m3_s", "L/s", 1e3], ["_kg_s", "kg/s", 1],
  ["_w", "W", 1], ["_a", "A", 1], ["_v", "V", 1], ["_c", "degC", 1]];
const COLORS = ["#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#5d4037", "#ad1457"];
const MAX_ROWS = 20000;

const state = {
  channels: [], groups: {}, redlines: {}, meta: {}, cols: [[]], events: [], points: [],
  summary: {}, control: false, charts: [], hq: null, hqSpeeds: "", lastWall: null, lastBench: null, rate: null,
};
const $ = (id) => document.getElementById(id);

function unitOf(channel) {
  const hit = UNITS.find(([end]) => channel.endsWith(end));
  return hit ? { unit: hit[1], scale: hit[2] } : { unit: "", scale: 1 };
}
function fmt(value, digits = 4) {
  if (value === null || value === undefined || !isFinite(value)) return "-";
  const v = Number(value);
  if (Math.abs(v) >= 10 ** digits) return String(Math.round(v));
  return String(parseFloat(v.toPrecision(digits)));
}
function duration(s) {
  if (s === null || s === undefined || !isFinite(s)) return "-";
  s = Math.round(s);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(sec).padStart(2, "0");
}
function token() {
  const match = /token=([^&]+)/.exec(location.hash);
  return match ? decodeURIComponent(match[1]) : null;
}

// ------------------------------------------------------------------------------ data
function addRows(rows) {
  const cols = state.cols;
  const last = cols[0].length ? cols[0][cols[0].length - 1] : -Infinity;
  for (const row of rows) {
    if (row[0] <= last && cols[0].length) continue; // already have it
    for (let i = 0; i < row.length; i++) {
      const value = row[i];
      const scale = i === 0 ? 1 : unitOf(state.channels[i - 1]).scale;
      cols[i].push(value === null ? null : value * scale);
    }
  }
  if (cols[0].length > MAX_ROWS) state.cols = cols.map((c) => c.filter((_, k) => k % 2 === 0));
}

function cursorTime() {
  const times = state.cols[0];
  const latest = times.length ? times[times.length - 1] : 0;
  return $("follow").checked ? latest : Math.min(Number($("slider").value), latest);
}
function indexAt(t) {
  const times = state.cols[0];
  let lo = 0, hi = times.length - 1;
  if (hi < 0) return -1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (times[mid] <= t) lo = mid; else hi = mid - 1;
  }
  return lo;
}

// ------------------------------------------------------------------------------ charts
function redlinePlugin(channels) {
  return {
    hooks: {
      draw: [(u) => {
        const ctx = u.ctx;
        for (const channel of channels) {
          const line = state.redlines[channel];
          if (!line) continue;
          const value = line.limit * unitOf(channel).scale;
          const y = u.valToPos(value, "y", true);
          if (y < u.bbox.top || y > u.bbox.top + u.bbox.height) continue;
          ctx.save();
          ctx.strokeStyle = "#d50000"; ctx.lineWidth = 2; ctx.setLineDash([8, 4]);
          ctx.beginPath(); ctx.moveTo(u.bbox.left, y); ctx.lineTo(u.bbox.left + u.bbox.width, y); ctx.stroke();
          ctx.textAlign = "left"; ctx.textBaseline = "bottom";
          ctx.fillStyle = "#d50000"; ctx.font = "bold " + 11 * devicePixelRatio + "px sans-serif";
          ctx.fillText(`${line.kind} ${channel} ${fmt(value)}`, u.bbox.left + 6, y - 4);
          ctx.restore();
        }
      }],
    },
  };
}

function buildCharts() {
  const holder = $("charts");
  holder.innerHTML = "";
  state.charts = [];
  const width = Math.max(400, holder.clientWidth - 12);
  for (const [group, channels] of Object.entries(state.groups)) {
    const box = document.createElement("div");
    box.className = "chart";
    box.dataset.group = group;
    const units = [...new Set(channels.map((c) => unitOf(c).unit))].filter((u) => u).join(", ");
    box.innerHTML = `<h3>${group}${units ? " (" + units + ")" : ""}</h3>`;
    holder.appendChild(box);
    const indexes = channels.map((c) => state.channels.indexOf(c) + 1);
    const limits = channels.filter((c) => state.redlines[c]).map((c) => state.redlines[c].limit * unitOf(c).scale);
    const opts = {
      width, height: 150,
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: { time: false },
        y: { range: (u, min, max) => {
          const lo = Math.min(min ?? 0, ...limits), hi = Math.max(max ?? 1, ...limits);
          const pad = (hi - lo || Math.abs(hi) || 1) * 0.08;
          return [lo - pad, hi + pad];
        } },
      },
      axes: [{ label: "bench time (s)", size: 36 }, { size: 60 }],
      series: [{}, ...channels.map((c, k) => ({ label: c, stroke: COLORS[k % COLORS.length], width: 1.5, spanGaps: false }))],
      plugins: [redlinePlugin(channels)],
    };
    const plot = new uPlot(opts, [[], ...channels.map(() => [])], box);
    state.charts.push({ plot, indexes });
  }
}

function drawCharts() {
  const t = cursorTime();
  const span = Number($("window").value);
  const first = state.cols[0].length ? state.cols[0][0] : 0;
  const min = span > 0 ? Math.max(first, t - span) : first;
  const lo = Math.max(0, indexAt(min) - 1), hi = indexAt(t) + 1;
  for (const { plot, indexes } of state.charts) {
    const data = [state.cols[0].slice(lo, hi), ...indexes.map((i) => state.cols[i].slice(lo, hi))];
    plot.setData(data, false);
    plot.setScale("x", { min, max: Math.max(t, min + 1e-6) });
  }
}

function drawHQ() {
  const points = state.points.filter((p) => p.window_end_s === undefined || p.window_end_s <= cursorTime());
  const speedOf = (p) => Math.round((p.speed_setpoint_rpm ?? p.speed_rpm) / 100) * 100;
  const speeds = [...new Set(points.map(speedOf))].sort((a, b) => a - b);
  const key = speeds.join(",");
  const flows = [...new Set(points.map((p) => p.flow_m3_s * 1e3))].sort((a, b) => a - b);
  const head = speeds.map((s) => flows.map((q) => { const p = points.find((p) => speedOf(p) === s && p.flow_m3_s * 1e3 === q); return p ? p.head_m : null; }));
  const eta = speeds.map((s) => flows.map((q) => { const p = points.find((p) => speedOf(p) === s && p.flow_m3_s * 1e3 === q); return p && p.overall_efficiency !== undefined ? p.overall_efficiency : null; }));
  if (!state.hq || state.hqSpeeds !== key) {
    $("hq").innerHTML = "";
    state.hqSpeeds = key;
    const series = [{ label: "Q (L/s)" }];
    speeds.forEach((s, k) => series.push({ label: `H ${s} rpm`, stroke: COLORS[k % COLORS.length], width: 2, spanGaps: true, points: { show: true, size: 7 }, scale: "m" }));
    speeds.forEach((s, k) => series.push({ label: `eta ${s} rpm`, stroke: COLORS[k % COLORS.length], dash: [5, 4], width: 1.5, spanGaps: true, points: { show: true, size: 5 }, scale: "eta" }));
    state.hq = new uPlot({
      width: Math.max(400, $("points-panel").clientWidth - 40), height: 260,
      scales: { x: { time: false }, m: { auto: true }, eta: { range: [0, 1] } },
      axes: [{ label: "flow Q (L/s)" }, { label: "head H (m)", scale: "m" }, { label: "overall efficiency", scale: "eta", side: 1, grid: { show: false } }],
      series,
    }, [flows, ...head, ...eta], $("hq"));
  } else {
    state.hq.setData([flows, ...head, ...eta]);
  }
  const columns = [["index", "#", 1, 0], ["speed_rpm", "speed rpm", 1, 5], ["flow_m3_s", "Q L/s", 1e3, 4],
    ["head_m", "H m", 1, 4], ["p_inlet_pa", "p1 kPa", 1e-3, 4], ["p_outlet_pa", "p2 kPa", 1e-3, 4],
    ["electrical_power_w", "P_el W", 1, 4], ["hydraulic_power_w", "P_h W", 1, 4], ["overall_efficiency", "eta", 1, 3],
    ["steady", "steady", null, 0]];
  $("points").tHead.innerHTML = "<tr>" + columns.map((c) => `<th>${c[1]}</th>`).join("") + "</tr>";
  $("points").tBodies[0].innerHTML = points.map((p) => "<tr>" + columns.map(([k, , s, d]) => {
    const v = p[k];
    return `<td>${s === null ? (v === undefined ? "" : String(v)) : d === 0 ? v : fmt(v * s, d)}</td>`;
  }).join("") + "</tr>").join("");
}

// ------------------------------------------------------------------------------ panels
function drawReadings() {
  const t = cursorTime();
  const i = indexAt(t);
  const margins = state.summary.margins || {};
  const rows = state.channels.map((channel, k) => {
    const { unit, scale } = unitOf(channel);
    const value = i >= 0 ? state.cols[k + 1][i] : null;
    let limit = "", margin = "", cls = "";
    const line = state.redlines[channel];
    if (line && value !== null) {
      const raw = value / scale;
      const m = line.kind === "max" ? line.limit - raw : raw - line.limit;
      const frac = line.limit ? m / Math.abs(line.limit) : NaN;
      cls = frac < 0.1 ? "bad" : frac < 0.25 ? "warn" : "ok";
      limit = (line.kind === "max" ? "&le; " : "&ge; ") + fmt(line.limit * scale) + (line.while_running ? " (running)" : "");
      margin = `${fmt(m * scale, 3)} ${unit} (${(frac * 100).toFixed(0)} %)`;
    } else if (line) {
      limit = fmt(line.limit * scale);
    }
    return `<tr><td>${channel}</td><td>${fmt(value)} ${unit}</td><td>${limit}</td><td class="${cls}">${margin}</td></tr>`;
  });
  $("readings").tBodies[0].innerHTML = rows.join("");
  void margins;
}

function drawSteady() {
  const steady = state.summary.steady || {};
  const detail = steady.detail || {}, limits = steady.limits || {};
  $("steady-verdict").textContent = steady.detail
    ? `${steady.steady ? "steady" : "settling"} after ${fmt(steady.waited_s, 3)} s (timeout ${fmt(steady.timeout_s, 3)} s)`
    : "no point being judged yet";
  $("steady-verdict").className = steady.steady ? "ok" : "warn";
  $("steady").tBodies[0].innerHTML = Object.entries(detail).map(([q, d]) => {
    const [fl, tl] = limits[q] || [NaN, NaN];
    const f = d.fluctuation_fraction, tr = d.trend_fraction;
    return `<tr><td>${q}</td><td class="${f <= fl ? "ok" : "warn"}">${(f * 100).toFixed(2)} %</td><td>${(fl * 100).toFixed(1)} %</td>` +
      `<td class="${Math.abs(tr) <= tl ? "ok" : "warn"}">${(tr * 100).toFixed(2)} %</td><td>${(tl * 100).toFixed(1)} %</td></tr>`;
  }).join("");
}

// Declared measurements, judged as recorded (the summary carries them all: a procedure records few).
function drawMeasurements() {
  const shown = (state.summary.measurements || []).filter((m) => m.time_s === undefined || m.time_s <= cursorTime() + 1e-9);
  const esc = (text) => String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const bound = (v, open) => (v === null || v === undefined ? open : fmt(v, 6));
  $("measurements").tBodies[0].innerHTML = shown.length ? shown.map((m) =>
    `<tr data-name="${esc(m.name)}" data-verdict="${m.verdict}"><td>${esc(m.name)}</td><td>${fmt(m.value, 6)} ${esc(m.unit)}</td>` +
    `<td title="${esc(m.tolerance || "")}">[${bound(m.low, "-inf")}, ${bound(m.high, "+inf")}]${m.tolerance ? " " + esc(m.tolerance.split(" (")[0]) : ""}</td>` +
    `<td class="${m.verdict === "PASS" ? "ok" : "bad"}">${m.verdict}</td></tr>`).join("")
    : `<tr><td colspan="4">none recorded yet</td></tr>`;
}

function eventText(e) {
  const skip = new Set(["time_s", "kind", "detail", "limits", "labels"]);
  const fields = Object.entries(e).filter(([k]) => !skip.has(k)).map(([k, v]) =>
    `${k}=${typeof v === "number" ? fmt(v) : typeof v === "object" ? JSON.stringify(v) : v}`).join(", ");
  return `${fmt(e.time_s, 5)} s  ${e.kind}${fields ? ": " + fields : ""}`;
}
function drawEvents() {
  const t = cursorTime();
  const shown = state.events.filter((e) => e.time_s <= t + 1e-9).slice(-300).reverse();
  $("events").innerHTML = shown.map((e) => `<li class="${e.kind}">${eventText(e).replace(/</g, "&lt;")}</li>`).join("");
}

function drawStatus() {
  const s = state.summary;
  const meta = state.meta;
  $("procedure").textContent = meta.procedure || "run";
  $("bench").textContent = `on ${meta.bench_name || "?"}  ${meta.directory || ""}`;
  $("status").textContent = s.status + (s.end && s.end.reason ? `: ${s.end.reason}` : "");
  $("status").className = "status " + s.status;
  const p = s.progress || {};
  $("message").textContent = p.message || (s.status === "running" ? "starting" : "");
  if (p.steps) {
    $("progress").value = Math.max(0, (p.step || 1) - 1) / p.steps;
    $("progress-text").textContent = `step ${p.step} of ${p.steps}`;
  }
  const left = p.time_left_s;
  const wallLeft = left !== null && left !== undefined && state.rate ? left / state.rate : null;
  $("clock").textContent = `bench time ${duration(s.time_s)}  time left ${duration(left)}` +
    (wallLeft !== null && state.rate > 1.5 ? ` (about ${duration(wallLeft)} of wall time at ${fmt(state.rate, 3)}x)` : "");
  const trip = s.trip;
  if (trip) {
    const safe = trip.safe_state;
    const values = Object.entries(trip.values || {}).map(([k, v]) => `${k} = ${fmt(v, 6)}`).join(", ");
    $("banner").hidden = false;
    $("banner").className = trip.kind === "trip" ? "trip" : "stop";
    $("banner").textContent = `${trip.kind === "trip" ? "TRIP" : "OPERATOR STOP"} at ${fmt(trip.time_s, 5)} s: ${trip.reason}` +
      (values ? ` [${values}]` : "") +
      (safe ? ` - safe state commanded: ${safe.commanded.join(", ")}` + (safe.failed.length ? `; FAILED: ${safe.failed.join(", ")}` : "") : "");
  }
  $("stop").disabled = !state.control || s.status !== "running";
  const latest = state.cols[0].length ? state.cols[0][state.cols[0].length - 1] : 0;
  $("slider").max = latest;
  if ($("follow").checked) $("slider").value = latest;
  $("slider-time").textContent = `${fmt(cursorTime(), 5)} s of ${fmt(latest, 5)} s`;
}

function drawAll() {
  drawStatus();
  drawCharts();
  drawReadings();
  drawSteady();
  drawMeasurements();
  drawEvents();
  drawHQ();
}

// ------------------------------------------------------------------------------ stream
function onFrame(frame) {
  if (frame.type === "snapshot") {
    state.channels = frame.channels; state.groups = frame.groups; state.redlines = frame.redlines;
    state.meta = frame.meta; if (frame.control !== undefined) state.control = !!frame.control;
    state.cols = [[], ...frame.channels.map(() => [])];
    state.events = frame.events; state.points = frame.points; state.hq = null;
    addRows(frame.rows);
    buildCharts();
  } else {
    addRows(frame.rows);
    state.events.push(...frame.events);
    if (state.events.length > 2000) state.events = state.events.slice(-1000);
    state.points.push(...frame.points);
  }
  const now = performance.now() / 1000;
  if (state.lastWall !== null && now > state.lastWall + 1) {
    const rate = (frame.time_s - state.lastBench) / (now - state.lastWall);
    state.rate = state.rate === null ? rate : 0.7 * state.rate + 0.3 * rate;
    state.lastWall = now; state.lastBench = frame.time_s;
  } else if (state.lastWall === null) {
    state.lastWall = now; state.lastBench = frame.time_s;
  }
  state.summary = frame;
  document.body.dataset.sequence = frame.sequence;
  document.body.dataset.rows = state.cols[0].length;
  document.body.dataset.status = frame.status;
  scheduleDraw();
}

// Frames are taken in as they come (cheap), drawn at most every DRAW_INTERVAL_MS: a slow machine
// draws less often but never falls behind the stream.
const DRAW_INTERVAL_MS = 250;
let drawPending = false;
function scheduleDraw() {
  if (drawPending) return;
  drawPending = true;
  setTimeout(() => { drawPending = false; drawAll(); document.body.dataset.drawn = document.body.dataset.sequence; }, DRAW_INTERVAL_MS);
}

function connect() {
  const socket = new WebSocket(`ws://${location.host}/api/stream`);
  socket.onmessage = (message) => onFrame(JSON.parse(message.data));
  socket.onclose = (event) => {
    document.body.dataset.closed = `${event.code} ${event.reason}`;
    $("connection").hidden = false;
    $("connection").textContent = state.summary.status && state.summary.status !== "running"
      ? `The run has ended (${state.summary.status}); the console has closed. 'hil console ${state.meta.directory || "RUN_DIR"}' shows it again.`
      : `Connection to the console lost (${event.code}${event.reason ? ": " + event.reason : ""}).`;
    $("stop").disabled = true;
  };
}

$("stop").addEventListener("click", async () => {
  let secret = token();
  if (!secret) secret = prompt("Stop needs the run's token (printed with the console's address):");
  if (secret === null) return;
  const reply = await fetch("/api/stop", { method: "POST", headers: { "X-Hil-Token": secret } });
  const body = await reply.json().catch(() => ({}));
  $("connection").hidden = false;
  $("connection").textContent = reply.status === 202 ? "Stopping: the runner brings the bench to its safe state."
    : `Stop refused (${reply.status}): ${body.error || ""}`;
  if (reply.status === 202) $("stop").disabled = true;
});
$("window").addEventListener("change", drawAll);
$("slider").addEventListener("input", () => { $("follow").checked = false; drawAll(); });
$("follow").addEventListener("change", drawAll);
window.addEventListener("resize", () => { buildCharts(); state.hq = null; drawAll(); });
connect();
