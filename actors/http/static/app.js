// runwire dashboard: the runs list (refreshed every second) and a run page following its events
// over SSE. The EventSource resumes from the last seq it got (Last-Event-ID) after a drop; a page
// load starts from seq 0. Each event is applied once: the page keeps the seq it has rendered up to.
"use strict";
(function () {
  const ROOT = document.querySelector('meta[name="runwire-root"]').content;
  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs, text) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const api = (path, init) => fetch(ROOT + "api/" + path, init).then(async (r) => {
    const body = r.status === 204 ? null : await r.json();
    if (!r.ok) throw new Error((body && typeof body.detail === "string") ? body.detail : r.status + " " + r.statusText);
    return body;
  });
  const fmtTime = (iso) => iso ? new Date(iso).toLocaleTimeString() : "";
  const fmtDuration = (from, to) => {
    const ms = (to ? new Date(to) : new Date()) - new Date(from);
    return ms < 1000 ? ms + " ms" : (ms / 1000).toFixed(1) + " s";
  };
  const runLink = (id) => el("a", { href: ROOT + "runs/" + encodeURIComponent(id), class: "mono" }, id.slice(0, 12));

  // -- the runs list ------------------------------------------------------------------------
  function runsPage() {
    const body = document.querySelector("#runs tbody");
    async function refresh() {
      try {
        const page = await api("runs?limit=200");
        const children = {};
        for (const r of page.runs) if (r.parent_run_id) children[r.parent_run_id] = (children[r.parent_run_id] || 0) + 1;
        body.replaceChildren(...page.runs.map((r) => {
          const tr = el("tr", { "data-run-id": r.run_id, "data-state": r.state });
          const cells = [runLink(r.run_id), r.pipeline, el("span", { class: "state state-" + r.state }, r.state),
            fmtTime(r.created_at), fmtDuration(r.created_at, r.ended_at),
            r.parent_run_id ? runLink(r.parent_run_id) : "", children[r.run_id] ? String(children[r.run_id]) : ""];
          for (const c of cells) { const td = el("td"); if (typeof c === "string") td.textContent = c; else td.append(c); tr.append(td); }
          return tr;
        }));
        $("runs-total").textContent = page.total + " run(s)";
      } catch (err) { $("runs-total").textContent = "cannot list runs: " + err.message; }
      setTimeout(refresh, 1000);
    }
    api("pipelines").then((names) => $("pipeline").replaceChildren(...names.map((n) => el("option", { value: n }, n))));
    $("start").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      $("start-error").textContent = "";
      try {
        const inputs = JSON.parse($("inputs").value || "{}");
        const run = await api("runs", { method: "POST", headers: { "content-type": "application/json" },
          body: JSON.stringify({ pipeline: $("pipeline").value, inputs }) });
        location.href = ROOT + "runs/" + encodeURIComponent(run.run_id);
      } catch (err) { $("start-error").textContent = err.message; }
    });
    refresh();
  }

  // -- one run ------------------------------------------------------------------------------
  function runPage() {
    const runId = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop());
    $("run-id").textContent = runId;
    document.title = "runwire · " + runId.slice(0, 12);
    // what the tests read: seqs rendered, duplicates and holes seen (both must stay 0)
    const stats = window.runwireStats = { lastSeq: 0, events: 0, duplicates: 0, holes: 0, deltas: 0, terminal: null, lastDeltaAt: 0 };
    const texts = {}; // field -> {node, pending: []}
    let flushQueued = false;
    function schedule() { if (!flushQueued) { flushQueued = true; requestAnimationFrame(flush); } }
    function flush() {
      flushQueued = false;
      $("count").textContent = String(stats.lastSeq);
      for (const t of Object.values(texts)) {
        if (t.pending.length) { t.node.append(document.createTextNode(t.pending.join(""))); t.pending = []; }
      }
      stats.lastDeltaAt = performance.now();
    }
    function text(ev) {
      const key = ev.artifact_id ? ev.field + " · " + ev.artifact_id : ev.field;
      let t = texts[key];
      if (!t) {
        const box = el("div"); box.append(el("h2", {}, key));
        const pre = el("pre", { class: "text", "data-field": key }); box.append(pre);
        $("texts").append(box);
        t = texts[key] = { node: pre, pending: [] };
      }
      t.pending.push(ev.text);
      stats.deltas += 1;
    }
    function progress(ev) {
      let f = ev.fraction;
      if (f == null && ev.total) f = ev.current / ev.total;
      if (f != null) { const pct = Math.round(f * 100); $("bar").style.width = pct + "%"; $("pct").textContent = pct + " %"; }
      if (ev.message) $("progress-message").textContent = ev.message;
    }
    function terminal(ev) {
      flush();
      stats.terminal = ev.type;
      const box = $("terminal");
      box.hidden = false; box.className = "terminal " + ev.type.replace(".", "-");
      $("terminal-type").textContent = ev.type;
      const shown = ev.type === "run.completed" ? { result: ev.result, finish_reason: ev.finish_reason }
        : ev.type === "run.failed" ? { error_type: ev.error_type, message: ev.message, traceback: ev.traceback }
        : { reason: ev.reason };
      $("terminal-body").textContent = JSON.stringify(shown, null, 2);
      $("state").textContent = ev.type.slice(4); $("state").className = "state state-" + ev.type.slice(4);
      $("cancel").disabled = true;
      if (ev.type === "run.completed") { $("bar").style.width = "100%"; $("pct").textContent = "100 %"; }
    }
    function apply(ev) {
      const first = ev.first_seq || ev.seq;
      if (ev.seq <= stats.lastSeq) { stats.duplicates += 1; return; }
      if (first !== stats.lastSeq + 1 && ev.type !== "stream.gap") stats.holes += 1;
      stats.lastSeq = ev.seq; stats.events += 1;
      schedule(); // the counter and pending text are written once per animation frame
      switch (ev.type) {
        case "run.started":
          $("pipeline").textContent = ev.pipeline; $("state").textContent = "running"; $("state").className = "state state-running";
          if (ev.parent_run_id) { $("parent").replaceChildren("loop ", runLink(ev.parent_run_id)); }
          break;
        case "run.progress": progress(ev); break;
        case "run.milestone": {
          const li = el("li", { "data-seq": ev.seq }); li.append(el("b", {}, ev.name), " ", el("span", { class: "muted" }, fmtTime(ev.ts)));
          if (ev.data && Object.keys(ev.data).length) li.append(el("div", { class: "mono muted" }, JSON.stringify(ev.data)));
          $("milestones").append(li); break;
        }
        case "run.log": $("logs").append(el("li", { class: "log-" + ev.level }, ev.message)); break;
        case "text.delta": text(ev); break;
        case "artifact": {
          const li = el("li");
          li.append(el("a", { href: ROOT + "api/runs/" + encodeURIComponent(runId) + "/artifacts/" + encodeURIComponent(ev.artifact_id) }, ev.artifact_id));
          if (ev.size != null) li.append(" ", el("span", { class: "muted" }, ev.size + " bytes"));
          $("artifacts").append(li); break;
        }
        case "step.started": { const li = el("li", { id: "step-" + ev.index }); li.append("step " + ev.index + " ", runLink(ev.child_run_id)); $("steps").append(li); break; }
        case "step.finished": { const li = $("step-" + ev.index); if (li) li.append(" → " + ev.outcome); break; }
        case "stream.gap": $("logs").append(el("li", { class: "error" }, "missed events " + ev.from_seq + "–" + ev.to_seq)); break;
        default:
          if (ev.type === "run.completed" || ev.type === "run.failed" || ev.type === "run.cancelled") terminal(ev);
      }
    }
    api("runs/" + encodeURIComponent(runId)).then((run) => {
      $("pipeline").textContent = run.pipeline;
      if (run.parent_run_id) $("parent").replaceChildren("loop ", runLink(run.parent_run_id));
    }).catch((err) => { $("state").textContent = err.message; });
    const source = new EventSource(ROOT + "api/runs/" + encodeURIComponent(runId) + "/events");
    source.onmessage = (msg) => {
      const ev = JSON.parse(msg.data);
      apply(ev);
      if (stats.terminal) source.close();
    };
    source.onerror = () => { if (!stats.terminal) $("state").textContent = "reconnecting"; };
    $("cancel").addEventListener("click", async () => {
      $("cancel").disabled = true;
      try { await api("runs/" + encodeURIComponent(runId) + "/cancel", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ reason: "cancelled from the dashboard" }) }); }
      catch (err) { $("cancel").disabled = false; $("state").textContent = err.message; }
    });
  }

  if (document.body.dataset.page === "runs") runsPage(); else runPage();
})();
