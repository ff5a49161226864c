// glc report: draws the charts (inline SVG) and makes the task table sortable and filterable.
// No network, no library: everything the page needs is inline. Every number drawn is a value of the
// embedded data (from the SQL nodes); names are untrusted, so they only ever reach textContent.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("glc-data").textContent);
  const SVG = "http://www.w3.org/2000/svg";
  const el = (tag, attrs, parent) => {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (parent) parent.appendChild(node);
    return node;
  };
  const text = (parent, attrs, value) => { const t = el("text", attrs, parent); t.textContent = value; return t; };
  // -0.00 (a tie a rounding error below the SoTA) is shown as 0.00
  const fmt = (v, d = 2) => (v === null || v === undefined ? "-" : Number(v).toFixed(d).replace(/^-(0\.?0*)$/, "$1"));
  const short = (s, n) => (s.length > n ? s.slice(0, n - 1) + "…" : s);
  const COLORS = {2: "#4e79a7", 3: "#f28e2b", 4: "#59a14f", 5: "#b6477d"};

  // the top of an axis: 1, 2 or 5 times a power of ten, at least the largest value
  function niceMax(x) {
    if (!(x > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(x))), f = x / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
  }
  function ticks(lo, hi, n) {
    const out = [];
    for (let i = 0; i <= n; i++) out.push(lo + (hi - lo) * i / n);
    return out;
  }
  const decimals = step => (step >= 1 ? 0 : Math.min(4, Math.ceil(-Math.log10(step))));

  function width(host) {
    return Math.max(300, Math.min(900, Math.floor(host.clientWidth || 600)));
  }

  // an x axis at y: gridlines over the plot, tick labels under it, a title below
  function xAxis(svg, scale, values, y, top, title, step) {
    const d = decimals(step);
    el("line", {x1: scale(values[0]), y1: y, x2: scale(values[values.length - 1]), y2: y, class: "axis"}, svg);
    for (const v of values) {
      const x = scale(v);
      el("line", {x1: x, y1: top, x2: x, y2: y, class: v === 0 ? "zero" : "grid"}, svg);
      el("line", {x1: x, y1: y, x2: x, y2: y + 4, class: "axis"}, svg);
      text(svg, {x, y: y + 16, "text-anchor": "middle", class: "tick"}, v.toFixed(d));
    }
    text(svg, {x: (scale(values[0]) + scale(values[values.length - 1])) / 2, y: y + 32, "text-anchor": "middle",
               class: "axis-title"}, title);
  }

  // Level-k, one chart per level: one bar per model in rank order, value and interval at its end
  function levelCharts(host) {
    const rows = data.levels;
    for (let k = 2; k <= data.max_level; k++) {
      const fig = document.createElement("figure");
      fig.className = "chart";
      fig.dataset.level = "level_" + k;
      host.appendChild(fig);
      fig.appendChild(document.createElement("figcaption")).textContent =
        `Level-${k}` + (data.confidence ? ` (whiskers: ${data.confidence * 100}% interval)` : "");
      const key = "level_" + k;
      const his = rows.map(r => (r.ci && r.ci[k] && r.ci[k][1] !== null ? r.ci[k][1] : 0));
      const top = niceMax(Math.max(...rows.map(r => r[key] || 0), ...his));
      const W = width(host), left = 10, right = 70, rowH = 36, head = 6;
      const H = head + rows.length * rowH + 40;
      const svg = el("svg", {viewBox: `0 0 ${W} ${H}`, width: "100%", class: "bars", role: "img",
                             "aria-label": `Level-${k} per model, in rank order`}, fig);
      const scale = v => left + (W - left - right) * v / top;
      const tv = ticks(0, top, 5);
      xAxis(svg, scale, tv, head + rows.length * rowH, head, `Level-${k} score (σ points)`, top / 5);
      rows.forEach((r, i) => {
        const y = head + i * rowH;
        const value = r[key];
        text(svg, {x: left + 4, y: y + 12, class: "label"}, `#${r.rank} ${short(r.model, 48)}`);
        const w = value === null ? 0 : Math.max(0, scale(value) - left);
        const bar = el("rect", {x: left, y: y + 16, width: w, height: 13, fill: COLORS[k], class: "bar",
                                "data-model": r.model, "data-level": key, "data-value": value === null ? "" : value,
                                "data-rank": r.rank}, svg);
        let tip = `${r.model}: Level-${k} = ${fmt(value, 4)}`;
        let end = left + w;
        const ci = r.ci && r.ci[k];
        if (ci && ci[0] !== null && ci[1] !== null) {
          const x1 = scale(ci[0]), x2 = scale(ci[1]), ym = y + 22.5;
          el("line", {x1, y1: ym, x2, y2: ym, class: "whisker"}, svg);
          el("line", {x1, y1: ym - 5, x2: x1, y2: ym + 5, class: "whisker"}, svg);
          el("line", {x1: x2, y1: ym - 5, x2, y2: ym + 5, class: "whisker"}, svg);
          tip += ` [${fmt(ci[0], 4)}, ${fmt(ci[1], 4)}]`;
          end = Math.max(end, x2);
        }
        el("title", {}, bar).textContent = tip;
        text(svg, {x: end + 4, y: y + 27, class: "value"}, value === null ? "n/a" : fmt(value));
      });
    }
  }

  // gap to the SoTA of one model: the widest wins and the closest losses, bars from 0
  function gapChart(host, entry) {
    const tasks = entry.tasks;
    if (!tasks.length) {
      host.appendChild(document.createElement("p")).textContent = "No attempted task with a SoTA.";
      return;
    }
    const m = niceMax(Math.max(...tasks.map(t => Math.abs(t.gap))));
    const W = width(host), left = 50, right = 50, rowH = 34, head = 6;
    const H = head + tasks.length * rowH + 40;
    const svg = el("svg", {viewBox: `0 0 ${W} ${H}`, width: "100%", class: "gaps", role: "img",
                           "aria-label": "gap to the SoTA per task"}, host);
    const scale = v => left + (W - left - right) * (v + m) / (2 * m);
    xAxis(svg, scale, ticks(-m, m, 4), head + tasks.length * rowH, head,
          "σ − σ SoTA (> 0: ahead of the SoTA)", m / 2);
    tasks.forEach((t, i) => {
      const y = head + i * rowH;
      const kind = t.tie ? "tie" : t.win ? "win" : "loss";
      const x0 = scale(0), x1 = scale(t.gap);
      const label = text(svg, {x: left, y: y + 12, class: "label"}, short(t.task, 60) + ` (${kind})`);
      el("title", {}, label).textContent = `${t.task} [${t.task_id}]`;
      const bar = el("rect", {x: Math.min(x0, x1), y: y + 16, width: Math.max(1, Math.abs(x1 - x0)), height: 12,
                              class: "gap " + kind, "data-task": t.task_id, "data-gap": t.gap}, svg);
      el("title", {}, bar).textContent = `σ ${fmt(t.sigma, 4)} vs SoTA σ ${fmt(t.sigma_sota, 4)}`;
      const right_ = t.gap >= 0;
      text(svg, {x: right_ ? Math.max(x0, x1) + 4 : Math.min(x0, x1) - 4, y: y + 26, class: "value",
                 "text-anchor": right_ ? "start" : "end"}, (t.gap > 0 ? "+" : "") + fmt(t.gap));
    });
  }

  // tables: click a header to sort (by data-v when present), type to filter the task table
  function sortable(table) {
    const body = table.tBodies[0];
    Array.from(table.tHead.rows[0].cells).forEach((th, col) => {
      th.addEventListener("click", () => {
        const asc = th.dataset.sort !== "asc";
        th.dataset.sort = asc ? "asc" : "desc";
        const key = r => { const c = r.cells[col]; const t = c.dataset.v ?? c.textContent; const n = parseFloat(t);
                           return isNaN(n) ? t : n; };
        const rows = Array.from(body.rows);
        rows.sort((a, b) => (key(a) > key(b) ? 1 : key(a) < key(b) ? -1 : 0) * (asc ? 1 : -1));
        rows.forEach(r => body.appendChild(r));
      });
    });
  }

  function draw() {
    const charts = document.getElementById("level-chart");
    charts.replaceChildren();
    levelCharts(charts);
    for (const host of document.querySelectorAll("div.gap-chart")) {
      host.replaceChildren();
      gapChart(host, data.gaps[Number(host.dataset.modelIndex)]);
    }
  }

  draw();
  let lastWidth = window.innerWidth, pending = null;
  window.addEventListener("resize", () => {
    if (window.innerWidth === lastWidth) return;
    lastWidth = window.innerWidth;
    clearTimeout(pending);
    pending = setTimeout(draw, 150);
  });
  document.querySelectorAll("section.board table, table#tasks").forEach(sortable);
  const filter = document.getElementById("task-filter");
  const body = document.getElementById("tasks").tBodies[0];
  filter.addEventListener("input", () => {
    const q = filter.value.toLowerCase();
    for (const row of body.rows) row.hidden = !row.textContent.toLowerCase().includes(q);
  });
  document.body.dataset.rendered = "yes";
})();
