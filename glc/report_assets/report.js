// glc report: draws the charts and makes the task table sortable and filterable.
// No network: everything the page needs is inline.
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

  // Level-2..5 bars, one group per model, for the default variant and scope
  function levelBars(host) {
    const rows = data.levels.filter(r => r.variant === data.default_variant && r.scope === data.default_scope);
    const keys = ["level_2", "level_3", "level_4", "level_5"];
    const colors = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759"];
    const max = Math.max(1e-9, ...rows.flatMap(r => keys.map(k => r[k] || 0)));
    const bw = 18, gap = 90, h = 180, left = 40;
    const width = Math.max(420, left + rows.length * (keys.length * bw + gap) + 20);
    const svg = el("svg", {width, height: h + 60, class: "chart", role: "img"}, host);
    el("line", {x1: left, y1: h, x2: width, y2: h, stroke: "#888"}, svg);
    rows.forEach((r, i) => {
      const x0 = left + i * (keys.length * bw + gap);
      keys.forEach((k, j) => {
        const v = r[k] || 0, bh = (v / max) * (h - 10);
        const rect = el("rect", {x: x0 + j * bw, y: h - bh, width: bw - 2, height: bh, fill: colors[j],
                                 class: "bar", "data-model": r.model, "data-level": k, "data-value": v}, svg);
        el("title", {}, rect).textContent = `${r.model} ${k} = ${v.toFixed(4)}`;
      });
      const t = el("text", {x: x0, y: h + 14, "font-size": 11}, svg);
      t.textContent = r.model.length > 22 ? r.model.slice(0, 21) + "…" : r.model;
    });
    keys.forEach((k, j) => {
      el("rect", {x: left + j * 90, y: h + 30, width: 10, height: 10, fill: colors[j]}, svg);
      el("text", {x: left + j * 90 + 14, y: h + 39, "font-size": 11}, svg).textContent = k.replace("level_", "Level-");
    });
  }

  // wins / tasks per modality x paradigm, one grid per model
  function heatmaps(host) {
    const mods = ["image", "video", "audio", "3d", "nlp"], pars = ["comprehension", "generation", "nlp"];
    for (const model of data.models) {
      const box = document.createElement("div");
      box.className = "heat";
      // model names are untrusted: text nodes only, never markup (no innerHTML with data anywhere)
      box.appendChild(document.createElement("h4")).textContent = model;
      host.appendChild(box);
      const svg = el("svg", {width: 100 + pars.length * 110, height: 30 + mods.length * 28, class: "heatmap"}, box);
      pars.forEach((p, j) => { el("text", {x: 100 + j * 110, y: 18, "font-size": 11}, svg).textContent = p; });
      mods.forEach((m, i) => {
        el("text", {x: 4, y: 44 + i * 28, "font-size": 11}, svg).textContent = m;
        pars.forEach((p, j) => {
          const cell = data.wins.find(w => w.model === model && w.modality === m && w.paradigm === p);
          if (!cell) return;
          const share = cell.n_wins / cell.n_tasks;
          const rect = el("rect", {x: 100 + j * 110, y: 28 + i * 28, width: 104, height: 24, class: "cell",
                                   fill: `rgba(89,161,79,${0.1 + 0.9 * share})`, "data-wins": cell.n_wins}, svg);
          // a win that is a tie with the SoTA is said to be one (a reused specialist network only ties)
          const ties = cell.n_ties ? ` (${cell.n_ties} ${cell.n_ties === 1 ? "tie" : "ties"})` : "";
          rect.setAttribute("data-ties", cell.n_ties || 0);
          el("title", {}, rect).textContent = `${cell.n_wins} of ${cell.n_tasks} tasks won${ties}`;
          el("text", {x: 106 + j * 110, y: 44 + i * 28, "font-size": 11}, svg).textContent =
            `${cell.n_wins}/${cell.n_tasks}${ties}`;
        });
      });
    }
  }

  // task table: click a header to sort, type to filter
  function taskTable() {
    const table = document.getElementById("tasks");
    const body = table.tBodies[0];
    const filter = document.getElementById("task-filter");
    filter.addEventListener("input", () => {
      const q = filter.value.toLowerCase();
      for (const row of body.rows) row.hidden = !row.textContent.toLowerCase().includes(q);
    });
    Array.from(table.tHead.rows[0].cells).forEach((th, col) => {
      th.addEventListener("click", () => {
        const asc = th.dataset.sort !== "asc";
        th.dataset.sort = asc ? "asc" : "desc";
        const rows = Array.from(body.rows);
        const key = r => { const t = r.cells[col].dataset.v ?? r.cells[col].textContent; const n = parseFloat(t);
                           return isNaN(n) ? t : n; };
        rows.sort((a, b) => (key(a) > key(b) ? 1 : key(a) < key(b) ? -1 : 0) * (asc ? 1 : -1));
        rows.forEach(r => body.appendChild(r));
      });
    });
  }

  levelBars(document.getElementById("level-chart"));
  heatmaps(document.getElementById("heatmaps"));
  taskTable();
  document.body.dataset.rendered = "yes";
})();
