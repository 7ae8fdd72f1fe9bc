/* narratives workbench: the little JavaScript the pages need. Every text from the server or a file is put
   into the page with textContent (never innerHTML), and no URL is built from data other than integers and
   the server's own ids. */
"use strict";
(function () {
  const dataEl = document.getElementById("wb-data");
  const data = dataEl ? JSON.parse(dataEl.textContent) : null;
  const page = document.body.dataset.page;

  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k.includes("-") || k === "title" || k === "type" || k === "value" || k === "href") e.setAttribute(k, v);
      else e[k] = v;
    }
    for (const kid of kids) if (kid !== null && kid !== undefined) e.append(kid instanceof Node ? kid : String(kid));
    return e;
  }
  const svgNS = "http://www.w3.org/2000/svg";
  function s(tag, attrs, text) {
    const e = document.createElementNS(svgNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  const labelsById = {};
  if (data && data.labels) for (const l of data.labels) labelsById[l.id] = l;
  const colourOf = (id) => (labelsById[id] ? labelsById[id].colour : "c7");
  const nameOf = (id) => (labelsById[id] ? labelsById[id].name : id);
  const fmt = (v) => (typeof v === "number" ? v.toFixed(2) : "");

  async function postJSON(url, body) {
    const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), credentials: "same-origin" });
    let out = null;
    try { out = await r.json(); } catch (e) { out = null; }
    if (!r.ok) {
      let msg = out && out.error ? out.error.message : "HTTP " + r.status;
      if (out && out.error && out.error.problems) msg += ": " + out.error.problems.map((p) => p.where + " " + p.message).join("; ");
      throw new Error(msg);
    }
    return out;
  }

  /* The label form for one passage: per narrative yes/no (confirm, reject, add), stance, language. */
  function labelForm(container, p, text, onSaved) {
    const saved = p.saved;
    const yes = new Set(saved ? saved.narratives : p.hits);
    const model = new Set(p.hits);
    let stance = saved ? saved.stance : (p.stance === "promotes" || p.stance === "reports" ? p.stance : "");
    const lang = saved ? saved.lang : (p.lang || data.lang || "");
    container.replaceChildren();
    if (text) container.append(h("p", { class: "lf-text" }, text.length > 260 ? text.slice(0, 260) + "…" : text));
    const rows = [];
    for (const l of data.labels) {
      const score = p.scores && typeof p.scores[l.id] === "number" ? p.scores[l.id] : null;
      const status = h("span", { class: "lf-status" });
      const by = h("button", { type: "button", class: "yes", title: model.has(l.id) ? "confirm" : "add: the model missed it" }, model.has(l.id) ? "✓ yes" : "+ yes");
      const bn = h("button", { type: "button", class: "no", title: model.has(l.id) ? "reject" : "absent" }, "✗ no");
      const row = h("div", { class: "lf-row", "data-lab": l.id },
        h("span", { class: "lf-name" }, h("span", { class: "sw " + l.colour }), l.name, score !== null ? h("small", {}, fmt(score)) : null,
          " ", status),
        h("span", { class: "seg" }, by, bn));
      const paint = () => {
        const on = yes.has(l.id);
        by.classList.toggle("on", on); bn.classList.toggle("on", !on);
        status.textContent = model.has(l.id) ? (on ? "confirmed" : "rejected") : (on ? "added" : "");
      };
      by.addEventListener("click", () => { yes.add(l.id); paint(); sync(); });
      bn.addEventListener("click", () => { yes.delete(l.id); paint(); sync(); });
      paint();
      rows.push(row);
      container.append(row);
    }
    const stanceSel = h("select", { class: "lf-stance", "aria-label": "stance" },
      h("option", { value: "" }, "stance…"), h("option", { value: "promotes" }, "promotes"), h("option", { value: "reports" }, "reports"));
    stanceSel.value = stance;
    const langSel = h("select", { class: "lf-lang", "aria-label": "language" }, h("option", { value: "" }, "language…"),
      ...data.langs.map((x) => h("option", { value: x }, x)));
    langSel.value = lang;
    const save = h("button", { type: "button", class: "primary lf-save" }, saved ? "Save again" : "Save label");
    const msg = h("span", { class: "lf-msg" + (saved ? " ok" : "") }, saved ? "Labelled in this session." : "");
    const sync = () => { stanceSel.disabled = yes.size === 0; };
    sync();
    container.append(h("div", { class: "lf-foot" }, h("label", {}, "Stance ", stanceSel), h("label", {}, "Language ", langSel), save, msg));
    save.addEventListener("click", async () => {
      const narratives = data.labels.map((l) => l.id).filter((id) => yes.has(id));
      const review = {};
      for (const l of data.labels) {
        if (model.has(l.id)) review[l.id] = yes.has(l.id) ? "confirmed" : "rejected";
        else if (yes.has(l.id)) review[l.id] = "added";
      }
      const body = { kind: data.ref.kind, id: data.ref.id, k: p.k, narratives, stance: narratives.length ? stanceSel.value : "none",
                     lang: langSel.value, review };
      msg.className = "lf-msg"; msg.textContent = "Saving…";
      if (narratives.length && !stanceSel.value) { msg.className = "lf-msg err"; msg.textContent = "Choose the stance: promotes or reports."; return; }
      if (!langSel.value) { msg.className = "lf-msg err"; msg.textContent = "Choose the passage's language."; return; }
      try {
        const out = await postJSON("/wb/api/label", body);
        p.saved = out.saved;
        data.lang = out.saved.lang;
        msg.className = out.warning ? "lf-msg err" : "lf-msg ok";
        msg.textContent = "Saved to " + out.file + " (" + out.count + " in this session)." + (out.warning ? " Note: " + out.warning : "");
        save.textContent = "Save again";
        const n = document.getElementById("n-corrections");
        if (n) n.textContent = String(out.count);
        if (onSaved) onSaved(out);
      } catch (e) {
        msg.className = "lf-msg err";
        msg.textContent = "Not saved: " + e.message;
      }
    });
  }

  /* ---- start page: file picker feedback, busy state ---- */
  function initIndex() {
    const input = document.getElementById("files"), chosen = document.getElementById("chosen"), drop = document.getElementById("drop");
    const folder = document.getElementById("folder");
    if (!input) return;
    const show = () => {
      const names = Array.from(input.files).concat(Array.from(folder.files)).map((f) => f.webkitRelativePath || f.name);
      chosen.textContent = names.length > 12 ? names.length + " files: " + names.slice(0, 12).join(", ") + ", …" : names.join(", ");
    };
    input.addEventListener("change", show);
    folder.addEventListener("change", show);
    drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); input.files = e.dataTransfer.files; show(); });
    document.getElementById("open-form").addEventListener("submit", () => {
      document.getElementById("analyse").disabled = true;
      document.getElementById("busy").hidden = false;
    });
  }

  /* ---- article view ---- */
  function initArticle() {
    const text = document.getElementById("text"), form = document.getElementById("label-form");
    const spans = Array.from(text.querySelectorAll(".psg"));
    const byK = {};
    for (const sp of spans) byK[sp.dataset.k] = sp;
    let current = null;
    function select(k, scroll) {
      const sp = byK[k];
      if (!sp) return;
      if (current) current.classList.remove("sel");
      current = sp;
      sp.classList.add("sel");
      if (scroll) sp.scrollIntoView({ block: "center" });
      labelForm(form, data.passages[k], sp.textContent, () => sp.classList.add("saved"));
    }
    text.addEventListener("click", (e) => {
      const t = e.target.closest(".psg, .chip");
      if (t && t.dataset.k !== undefined) select(t.dataset.k, false);
    });
    text.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && e.target.classList.contains("psg")) select(e.target.dataset.k, false);
    });
    const low = document.getElementById("show-low");
    if (low) low.addEventListener("change", () => document.body.classList.toggle("show-low", low.checked));
    const hits = spans.filter((sp) => sp.classList.contains("hit"));
    const step = (dir) => {
      if (!hits.length) return;
      const at = current ? hits.indexOf(current) : -1;
      let i = at + dir;
      if (at < 0 && current) {  // from a passage that is not flagged: the next flagged one after it
        const k = Number(current.dataset.k);
        i = dir > 0 ? hits.findIndex((sp) => Number(sp.dataset.k) > k) : hits.map((sp) => Number(sp.dataset.k) < k).lastIndexOf(true);
      }
      select(hits[(i + hits.length) % hits.length].dataset.k, true);
    };
    document.addEventListener("keydown", (e) => {
      if (e.target.closest("input, select, textarea")) return;
      if (e.key === "j") step(1); else if (e.key === "k") step(-1);
    });
    for (const b of document.querySelectorAll(".jump")) {
      let n = 0;
      b.addEventListener("click", () => {
        const mine = data.passages.filter((p) => p.hits.includes(b.dataset.lab));
        if (!mine.length) return;
        select(String(mine[n % mine.length].k), true);
        n += 1;
      });
    }
  }

  /* ---- queue ---- */
  function initQueue() {
    const done = document.getElementById("q-done");
    const count = () => { done.textContent = String(data.passages.filter((p) => p.saved).length); };
    for (const c of document.querySelectorAll(".task-form")) {
      const p = data.passages[Number(c.dataset.k)];
      const card = c.closest(".task");
      if (p.saved) card.classList.add("done");
      labelForm(c, p, null, () => { card.classList.add("done"); count(); });
    }
    count();
  }

  /* ---- batch view ---- */
  function initBatch() {
    const tbody = document.querySelector("#rows tbody"), pageEl = document.getElementById("page");
    const f = (id) => document.getElementById(id);
    const PAGE = 50;
    let rows = [], shown = [], pageNo = 0, sortKey = null, sortDir = 1;
    const narrSel = f("f-narrative");
    for (const l of data.labels) narrSel.append(h("option", { value: l.id }, l.name));
    function filters() {
      return { narr: narrSel.value, stance: f("f-stance").value, lang: f("f-lang").value, outlet: f("f-outlet").value,
               from: f("f-from").value, to: f("f-to").value, min: f("f-min").value, max: f("f-max").value,
               q: f("f-q").value.trim().toLowerCase() };
    }
    function keep(r, c) {
      if (c.narr === "-" ? r.narratives.length : (c.narr && !r.narratives.includes(c.narr))) return false;
      if (c.stance && (r.stance || "none") !== c.stance) return false;
      if (c.lang && r.lang !== c.lang) return false;
      if (c.outlet && r.outlet !== c.outlet) return false;
      const d = r.date.slice(0, 10);
      if ((c.from || c.to) && !/^\d{4}-\d{2}-\d{2}$/.test(d)) return false;
      if (c.from && d < c.from) return false;
      if (c.to && d > c.to) return false;
      const score = c.narr && c.narr !== "-" ? (r.scores[c.narr] || 0) : r.top;
      if (c.min !== "" && score < Number(c.min)) return false;
      if (c.max !== "" && score > Number(c.max)) return false;
      if (c.q && !(r.id + " " + r.title + " " + r.outlet).toLowerCase().includes(c.q)) return false;
      return true;
    }
    const sortVal = (r, k) => (k === "narratives" ? r.narratives.join(",") : k === "top" ? r.top : (k === "id" ? (r.title || r.id) : r[k] || "").toLowerCase());
    function refresh(resetPage) {
      const c = filters();
      shown = rows.filter((r) => keep(r, c));
      if (sortKey) shown.sort((a, b) => { const x = sortVal(a, sortKey), y = sortVal(b, sortKey); return (x < y ? -1 : x > y ? 1 : 0) * sortDir; });
      if (resetPage) pageNo = 0;
      f("count").textContent = shown.length + " of " + rows.length + " articles";
      draw();
      charts(shown);
    }
    function draw() {
      const pages = Math.max(1, Math.ceil(shown.length / PAGE));
      pageNo = Math.min(pageNo, pages - 1);
      const frag = document.createDocumentFragment();
      for (const r of shown.slice(pageNo * PAGE, pageNo * PAGE + PAGE)) {
        const link = h("a", { href: "/wb/batch/" + encodeURIComponent(data.id) + "/" + Number(r.i) }, r.title || r.id || "(no id)");
        const idcell = h("td", { class: "idcell" }, link, r.title && r.id ? h("small", {}, r.id) : null);
        const narr = h("td", {});
        for (const n of r.narratives) narr.append(h("span", { class: "chip " + colourOf(n), title: (r.stances[n] || "") + " " + fmt(r.scores[n]) }, nameOf(n)), " ");
        for (const e of r.errors) narr.append(h("div", { class: "err" }, e));
        const tr = h("tr", { "data-i": String(r.i) }, idcell, h("td", {}, r.outlet), h("td", {}, r.date.slice(0, 10)), h("td", {}, r.lang), narr,
          h("td", {}, r.stance ? h("span", { class: "stance s-" + r.stance }, r.stance) : ""), h("td", { class: "num" }, fmt(r.top)));
        frag.append(tr);
      }
      tbody.replaceChildren(frag);
      pageEl.textContent = "page " + (pageNo + 1) + " of " + pages;
      f("prev").disabled = pageNo === 0;
      f("next").disabled = pageNo >= pages - 1;
    }
    tbody.addEventListener("click", (e) => {
      if (e.target.closest("a")) return;
      const tr = e.target.closest("tr");
      if (tr) window.location.assign("/wb/batch/" + encodeURIComponent(data.id) + "/" + Number(tr.dataset.i));
    });
    for (const th of document.querySelectorAll("#rows th")) {
      th.addEventListener("click", () => {
        sortDir = sortKey === th.dataset.sort ? -sortDir : (th.dataset.sort === "top" ? -1 : 1);
        sortKey = th.dataset.sort;
        for (const o of document.querySelectorAll("#rows th")) o.classList.remove("asc", "desc");
        th.classList.add(sortDir > 0 ? "asc" : "desc");
        refresh(false);
      });
    }
    f("filters").addEventListener("input", () => refresh(true));
    f("filters").addEventListener("reset", () => setTimeout(() => refresh(true), 0));
    f("filters").addEventListener("submit", (e) => e.preventDefault());
    f("prev").addEventListener("click", () => { pageNo -= 1; draw(); });
    f("next").addEventListener("click", () => { pageNo += 1; draw(); });

    function stacked(el, cats, counts, horizontal, empty) {
      el.replaceChildren();
      if (!cats.length) { el.append(h("p", { class: "hint" }, empty)); return; }
      const labs = data.labels.filter((l) => cats.some((c) => counts[c][l.id]));
      const totals = cats.map((c) => labs.reduce((t, l) => t + (counts[c][l.id] || 0), 0));
      const max = Math.max(1, ...totals);
      const W = 560, H = horizontal ? Math.max(120, 22 * cats.length + 30) : 220, pad = horizontal ? 130 : 30, bottom = horizontal ? 20 : 40;
      const svg = s("svg", { viewBox: "0 0 " + W + " " + H, role: "img" });
      svg.append(s("line", { x1: pad, y1: 8, x2: pad, y2: H - bottom, class: "axis" }));
      svg.append(s("line", { x1: pad, y1: H - bottom, x2: W - 8, y2: H - bottom, class: "axis" }));
      const band = ((horizontal ? H - bottom - 8 : W - pad - 8)) / cats.length;
      cats.forEach((c, i) => {
        let acc = 0;
        for (const l of labs) {
          const v = counts[c][l.id] || 0;
          if (!v) continue;
          const len = (v / max) * (horizontal ? W - pad - 40 : H - bottom - 16);
          const r = horizontal
            ? s("rect", { x: pad + acc, y: 8 + i * band + band * 0.15, width: len, height: band * 0.7, class: "f-" + l.colour })
            : s("rect", { x: pad + i * band + band * 0.15, y: H - bottom - acc - len, width: band * 0.7, height: len, class: "f-" + l.colour });
          r.append(s("title", {}, c + " · " + l.name + ": " + v));
          svg.append(r);
          acc += len;
        }
        if (horizontal) {
          svg.append(s("text", { x: pad - 6, y: 8 + i * band + band / 2 + 4, "text-anchor": "end" }, c.length > 20 ? c.slice(0, 19) + "…" : c));
          svg.append(s("text", { x: pad + acc + 4, y: 8 + i * band + band / 2 + 4 }, String(totals[i])));
        } else if (cats.length <= 24 || i % Math.ceil(cats.length / 24) === 0) {
          svg.append(s("text", { x: pad + i * band + band / 2, y: H - bottom + 14, "text-anchor": "middle" }, c));
        }
      });
      if (!horizontal) svg.append(s("text", { x: pad - 4, y: 16, "text-anchor": "end" }, String(max)));
      const legend = h("div", { class: "legend" });
      for (const l of labs) legend.append(h("span", {}, h("span", { class: "sw " + l.colour }), l.name));
      el.append(svg, legend);
    }
    function charts(rs) {
      const byMonth = {}, byOutlet = {};
      for (const r of rs) {
        const m = /^\d{4}-\d{2}/.test(r.date) ? r.date.slice(0, 7) : null;
        for (const n of r.narratives) {
          if (m) { byMonth[m] = byMonth[m] || {}; byMonth[m][n] = (byMonth[m][n] || 0) + 1; }
          if (r.outlet) { byOutlet[r.outlet] = byOutlet[r.outlet] || {}; byOutlet[r.outlet][n] = (byOutlet[r.outlet][n] || 0) + 1; }
        }
      }
      const months = Object.keys(byMonth).sort();
      const sum = (o) => Object.values(o).reduce((a, b) => a + b, 0);
      const outlets = Object.keys(byOutlet).sort((a, b) => sum(byOutlet[b]) - sum(byOutlet[a])).slice(0, 12);
      stacked(f("chart-time"), months, byMonth, false, "No dated articles with a narrative in this selection (a date field, YYYY-MM-DD).");
      stacked(f("chart-outlet"), outlets, byOutlet, true, "No articles with an outlet field and a narrative in this selection.");
    }
    fetch("/wb/api/batch/" + encodeURIComponent(data.id), { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error("HTTP " + r.status))))
      .then((out) => {
        rows = out.rows;
        const uniq = (k) => Array.from(new Set(rows.map((r) => r[k]).filter((x) => x))).sort();
        for (const x of uniq("lang")) f("f-lang").append(h("option", { value: x }, x));
        for (const x of uniq("outlet")) f("f-outlet").append(h("option", { value: x }, x));
        refresh(true);
      })
      .catch((e) => { f("count").textContent = "The rows could not be loaded: " + e.message; });
  }

  if (page === "index") initIndex();
  else if (page === "article") initArticle();
  else if (page === "queue") initQueue();
  else if (page === "batch") initBatch();
})();
