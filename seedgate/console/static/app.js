// seedgate console: a hash-routed single page over the public APIs and /console/api (no build step).
"use strict";

const state = {key: localStorage.getItem("seedgate.key") || "", me: null, models: [], stream: null};
const PAGE_SIZE = 20;
const main = document.getElementById("main");

// -- helpers -------------------------------------------------------------------------------------------------------

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c.nodeType ? c : String(c));
  return el;
}

async function api(path, options = {}) {
  const headers = Object.assign({Authorization: `Bearer ${state.key}`}, options.headers || {});
  const response = await fetch(path, Object.assign({}, options, {headers}));
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : {}; } catch (e) { body = {raw: text}; }
  if (!response.ok) {
    const err = (body && (body.error || body)) || {};
    throw new Error(err.message || `${response.status} ${response.statusText}`);
  }
  return body;
}

const when = ts => (ts ? new Date(ts * 1000).toLocaleString(I18N.lang === "zh-CN" ? "zh-CN" : undefined) : "-");
const secs = s => (s === null || s === undefined ? "-" : `${s.toFixed(1)} s`);
// The badge says the status in the chosen language; data-status keeps the API's word for tests and styling.
const statusBadge = s => h("span", {class: `status ${s}`, "data-testid": "status", "data-status": s,
                                    text: I18N.lang === "en" ? s : t(s)});
const FINISHED = ["succeeded", "failed", "expired", "cancelled"];

function span(seconds) {
  seconds = Math.max(1, Math.round(seconds));
  if (seconds < 90) return `${seconds} s`;
  const m = Math.floor(seconds / 60);
  return m < 90 ? `${m} min ${seconds % 60} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

// Progress as a bar and words: "42% · about 6 s left". The ETA extrapolates from the time since the task started
// (server clock, in started_at) and the share done; it appears once there is enough progress to go on.
function progressView(task) {
  const done = task.status === "succeeded";
  const p = done ? 1 : Math.max(0, Math.min(1, task.progress || 0));
  const pct = Math.round(p * 100);
  let words = `${pct}%`;
  if (task.status === "queued") words = t("waiting for a worker");
  else if (task.status === "running" && p >= 0.03 && task.started_at) {
    const elapsed = Date.now() / 1000 - task.started_at;
    if (elapsed > 0) words += " · " + t("about {s} left", {s: span(elapsed * (1 - p) / p)});
  } else if (task.status === "running" && p === 0) words += " · " + t("starting");
  const bar = h("div", {class: "bar" + (task.status === "running" && p === 0 ? " busy" : ""), role: "progressbar",
                        "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": pct,
                        "aria-label": `progress ${pct}%`, "data-testid": "progress"},
    h("span", {style: `width: ${pct}%`}));
  return h("div", {class: "progress"}, bar, h("span", {class: "pct", "data-testid": "progress-text", text: words}));
}

// -- theme and language: remembered in localStorage; the theme follows the system until the user picks one -----

function effectiveTheme() {
  const chosen = localStorage.getItem("seedgate.theme");
  if (chosen === "dark" || chosen === "light") return chosen;
  return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

function applyTheme() {
  const chosen = localStorage.getItem("seedgate.theme");
  if (chosen === "dark" || chosen === "light") document.documentElement.dataset.theme = chosen;
  else delete document.documentElement.dataset.theme;
  const button = document.getElementById("theme");
  const dark = effectiveTheme() === "dark";
  button.textContent = dark ? "☀" : "☾";
  button.title = t(dark ? "Switch to light theme" : "Switch to dark theme");
  button.setAttribute("aria-label", button.title);
}

function applyLanguage() {
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  const button = document.getElementById("lang");
  button.textContent = I18N.lang === "zh-CN" ? "English" : "中文";
  button.setAttribute("aria-label", I18N.lang === "zh-CN" ? "Switch to English" : "切换到中文");
  document.title = I18N.lang === "zh-CN" ? "seedgate 控制台" : "seedgate console";
  applyTheme();
}

// Amounts per currency ({CNY: {amount}}), as "1.867324 CNY"; "-" for none.
function money(byCurrency) {
  const parts = Object.entries(byCurrency || {}).map(([cur, v]) => `${Number(v.amount).toFixed(6)} ${cur}`);
  return parts.length ? parts.join(" + ") : "-";
}

function kv(pairs) {
  return h("dl", {class: "kv"}, pairs.filter(p => p[1] !== undefined).flatMap(([k, v]) => [
    h("dt", {text: k}), h("dd", {}, typeof v === "object" && v !== null && !v.nodeType ? JSON.stringify(v) : v ?? "-")]));
}

// An answer that arrives after the user moved on must not repaint the page they moved to.
const stillOn = prefix => (location.hash || "#/tasks").startsWith(prefix);

function showError(where, err) {
  where.replaceChildren(h("p", {class: "error", role: "alert", text: err.message || String(err)}));
}

// -- live updates: Server-Sent Events read with fetch, so the key stays in a header -------------------------------

function startEvents(onTask, onGone) {
  stopEvents();
  const ctrl = new AbortController();
  state.stream = ctrl;
  const live = document.getElementById("live");
  (async () => {
    while (!ctrl.signal.aborted) {
      try {
        const response = await fetch("/console/api/events", {headers: {Authorization: `Bearer ${state.key}`},
                                                            signal: ctrl.signal});
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const {value, done} = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, {stream: true});
          let cut;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            const event = (block.match(/^event: (.*)$/m) || [])[1];
            const data = (block.match(/^data: (.*)$/m) || [])[1];
            if (event === "ready" && live) live.textContent = t("● live");
            if (event === "task") onTask(JSON.parse(data));
            if (event === "gone" && onGone) onGone(JSON.parse(data).id);
          }
        }
      } catch (e) {
        if (ctrl.signal.aborted) return;
      }
      if (live) live.textContent = t("reconnecting…");
      await new Promise(r => setTimeout(r, 2000));
    }
  })();
}

function stopEvents() {
  if (state.stream) state.stream.abort();
  state.stream = null;
}

// -- sign in -------------------------------------------------------------------------------------------------------

function pageSignIn(message) {
  document.getElementById("nav").hidden = true;
  document.getElementById("sign-out").hidden = true;
  const input = h("input", {type: "password", id: "key", autocomplete: "off", placeholder: "sk-..."});
  const out = h("div");
  const form = h("form", {class: "card narrow", onsubmit: async e => {
    e.preventDefault();
    state.key = input.value.trim();
    try {
      state.me = await api("/console/api/me");
      localStorage.setItem("seedgate.key", state.key);
      if (location.hash === "#/tasks") route(); else location.hash = "#/tasks";  // hashchange routes
    } catch (err) { showError(out, err); }
  }}, h("h1", {text: t("Sign in")}), h("p", {class: "hint", text: t("Self-hosted Seedance-compatible video generation.")}),
  message ? h("p", {class: "error", text: message}) : "",
  h("label", {for: "key", text: t("API key")}), input, h("p", {class: "hint",
      text: t("The key stays in this browser (localStorage) and is sent as Authorization: Bearer.")}),
  h("button", {type: "submit", text: t("Sign in")}), out);
  main.replaceChildren(form);
}

// -- task list -----------------------------------------------------------------------------------------------------

function thumbCell(task) {
  const cell = h("td", {class: "thumb", "data-label": t("Preview")});
  const link = h("a", {href: `#/tasks/${task.id}`, tabindex: -1, "aria-hidden": "true"});
  if (task.thumb_url) {
    link.append(h("img", {src: task.thumb_url, alt: "", loading: "lazy", "data-testid": "thumb"}));
  } else {
    link.append(h("span", {class: `thumb-empty ${task.status}`}));
  }
  cell.append(link);
  return cell;
}

function taskRow(task) {
  const actions = h("td", {"data-label": t("Actions")});
  if (task.status === "queued") {
    actions.append(h("button", {class: "secondary", type: "button", onclick: () => removeTask(task.id, "cancel"),
                                "aria-label": `Cancel ${task.id}`, text: t("Cancel")}));
  } else if (task.status !== "running" && task.status !== "cancelled") {
    actions.append(h("button", {class: "danger", type: "button", onclick: () => removeTask(task.id, "delete"),
                                "aria-label": `Delete ${task.id}`, text: t("Delete")}));
  }
  return h("tr", {"data-testid": `task-row-${task.id}`, "data-status": task.status},
    thumbCell(task),
    h("td", {"data-label": t("Task"), class: "prompt"},
      h("div", {class: "prompt-text", text: task.prompt.length > 90 ? task.prompt.slice(0, 90) + "…" :
        task.prompt || "—"}),
      h("a", {href: `#/tasks/${task.id}`, class: "mono small", text: task.id})),
    h("td", {"data-label": t("Status")}, statusBadge(task.status)),
    h("td", {"data-label": t("Progress"), class: "progress-cell"}, progressView(task)),
    h("td", {"data-label": t("Model")}, h("div", {class: "model-name", text: task.model}),
      h("div", {class: "hint", text: [task.mode && t(MODE_NAMES[task.mode] || task.mode), task.resolution,
        task.duration > 0 ? `${task.duration} s` : ""].filter(Boolean).join(" · ")})),
    h("td", {"data-label": t("Created"), class: "created", text: when(task.created_at)}),
    actions);
}

async function removeTask(id, verb) {
  if (verb === "delete" && !confirm(t("Delete {id} and its files?", {id}))) return;
  try {
    await api(`/api/v3/contents/generations/tasks/${id}`, {method: "DELETE"});
    if (location.hash.startsWith("#/tasks/")) location.hash = "#/tasks";
    else route();
  } catch (err) { alert(err.message); }
}

async function pageTasks(params) {
  const status = params.get("status") || "";
  const model = params.get("model") || "";
  const query = params.get("q") || "";
  const size = Math.min(200, Math.max(1, Number.parseInt(params.get("limit") || "", 10) || PAGE_SIZE));
  const offset = Math.max(0, Number.parseInt(params.get("offset") || "0", 10) || 0);
  const statusSel = h("select", {id: "f-status"}, ["", "queued", "running", "succeeded", "failed", "cancelled",
    "expired"].map(s => h("option", {value: s, selected: s === status, text: s ? t(s) : t("any")})));
  const modelSel = h("select", {id: "f-model"}, h("option", {value: "", text: t("any")}),
    state.models.map(m => h("option", {value: m.id, selected: m.id === model, text: m.id})));
  const search = h("input", {type: "search", id: "f-q", value: query, placeholder: t("Prompt, task ID or model")});
  const go = changes => {
    const q = new URLSearchParams();
    const next = Object.assign({status: statusSel.value, model: modelSel.value, q: search.value.trim(),
                                limit: size === PAGE_SIZE ? "" : String(size), offset: ""}, changes);
    for (const [k, v] of Object.entries(next)) if (v) q.set(k, v);
    location.hash = "#/tasks" + (q.toString() ? "?" + q : "");
  };
  statusSel.onchange = () => go({});
  modelSel.onchange = () => go({});
  const searchForm = h("form", {role: "search", onsubmit: e => { e.preventDefault(); go({}); }},
    h("label", {for: "f-q", text: t("Search")}), search);
  const tbody = h("tbody");
  const pager = h("div", {class: "pager", "data-testid": "pager"});
  main.replaceChildren(
    h("div", {class: "head"}, h("h1", {text: t("Tasks")}),
      h("span", {id: "live", class: "live", text: t("connecting…")}), h("span", {class: "grow"}),
      h("a", {href: "#/new", class: "button", text: t("Create a task")})),
    h("div", {class: "row card filters"}, h("div", {class: "wide"}, searchForm),
      h("div", {}, h("label", {for: "f-status", text: t("Status")}), statusSel),
      h("div", {}, h("label", {for: "f-model", text: t("Model")}), modelSel)),
    h("div", {class: "table-card"}, h("table", {class: "tasks"}, h("thead", {}, h("tr", {},
      [t("Preview"), t("Task"), t("Status"), t("Progress"), t("Model"), t("Created"), t("Actions")]
        .map(c => h("th", {text: c})))), tbody)), pager);
  const q = new URLSearchParams({limit: String(size), offset: String(offset)});
  if (status) q.set("status", status);
  if (model) q.set("model", model);
  if (query) q.set("q", query);
  let page;
  try {
    page = await api(`/console/api/tasks?${q}`);
  } catch (err) { showError(tbody, err); return; }
  if (!stillOn("#/tasks") || stillOn("#/tasks/")) return;
  let count = page.total;
  const empty = () => h("tr", {class: "empty"}, h("td", {colspan: 7, class: "hint",
    text: t(status || model || query ? "No tasks match." : "No tasks yet.")}));
  tbody.replaceChildren(...(page.items.length ? page.items.map(taskRow) : [empty()]));
  const drawPager = () => {
    const shown = tbody.querySelectorAll("tr[data-testid]").length;
    pager.replaceChildren(
      h("span", {class: "hint", "data-testid": "total", text: count ? t("{a}–{b} of {n}",
        {a: offset + 1, b: offset + shown, n: count}) : t("{n} task(s)", {n: 0})}),
      h("button", {type: "button", class: "secondary", text: t("Previous"), disabled: offset === 0,
                   onclick: () => go({offset: offset - size > 0 ? String(offset - size) : ""})}),
      h("button", {type: "button", class: "secondary", text: t("Next"), disabled: offset + size >= count,
                   onclick: () => go({offset: String(offset + size)})}));
  };
  drawPager();
  // New tasks appear live on the first page; other pages only update the rows they show.
  const text = query.toLowerCase();
  const matches = task => (!status || task.status === status) && (!model || task.model === model) &&
    (!text || task.id.toLowerCase().includes(text) || task.prompt.toLowerCase().includes(text) ||
     task.model.toLowerCase().includes(text));
  startEvents(task => {
    const old = tbody.querySelector(`[data-testid="task-row-${task.id}"]`);
    if (!matches(task)) { if (old) { old.remove(); count -= 1; drawPager(); } return; }
    if (old) { old.replaceWith(taskRow(task)); return; }
    if (offset === 0) {
      const placeholder = tbody.querySelector("tr.empty");
      if (placeholder) placeholder.remove();
      tbody.prepend(taskRow(task));
      count += 1;
      drawPager();
    }
  }, id => {
    const old = tbody.querySelector(`[data-testid="task-row-${id}"]`);
    if (old) { old.remove(); count -= 1; drawPager(); }
  });
}

// -- task page -----------------------------------------------------------------------------------------------------

function snippetTabs(snippets) {
  const names = {curl: "curl", ark: "Ark SDK (Python)", openai: "OpenAI SDK (Python)"};
  const pre = h("pre", {"data-testid": "snippet"});
  const copy = h("button", {type: "button", class: "secondary", text: t("Copy")});
  let current = "curl";
  const tabs = h("div", {class: "tabs", role: "tablist"});
  const select = name => {
    current = name;
    pre.textContent = snippets[name];
    pre.setAttribute("data-dialect", name);
    for (const b of tabs.children) b.setAttribute("aria-selected", String(b.dataset.name === name));
  };
  for (const name of Object.keys(names)) {
    tabs.append(h("button", {type: "button", role: "tab", "data-name": name, onclick: () => select(name),
                             text: names[name]}));
  }
  copy.onclick = async () => {
    try { await navigator.clipboard.writeText(snippets[current]); copy.textContent = t("Copied"); }
    catch (e) { copy.textContent = t("Select the text to copy"); }
  };
  select("curl");
  return h("div", {}, h("div", {class: "row"}, tabs, copy), pre);
}

function fileName(url, fallback) {
  try { return new URL(url).pathname.split("/").pop() || fallback; } catch (e) { return fallback; }
}

async function pageTask(id, live = true) {
  let task;
  try { task = await api(`/console/api/tasks/${encodeURIComponent(id)}`); }
  catch (err) { if (stillOn(`#/tasks/${id}`)) showError(main, err); return; }
  if (!stillOn(`#/tasks/${id}`)) return;
  const head = h("div", {class: "head"}, h("h1", {class: "mono", text: task.id}), statusBadge(task.status),
    h("span", {id: "live", class: "live"}));
  const media = h("div", {class: "card media"});
  if (task.links.video_url) {
    media.append(h("video", {src: task.links.video_url, controls: true, preload: "auto", playsinline: true,
      "data-testid": "video"}));
  } else if (!FINISHED.includes(task.status)) {
    // A 16:9 stage where the video will be: the share done in large type, the bar and the time left below.
    const pct = Math.round((task.progress || 0) * 100);
    media.append(h("div", {class: `stage ${task.status}`}, h("div", {class: "stage-status", text: t(task.status) + "…"}),
      h("div", {class: "stage-pct", "data-testid": "stage-pct", text: task.status === "running" ? `${pct}%` : ""}),
      progressView(task)));
  } else if (task.error) {
    media.append(h("p", {class: "error", role: "alert", text: `${task.error.code}: ${task.error.message}`}));
  } else {
    media.append(h("p", {text: t("This task is {s}.", {s: t(task.status)})}));
  }
  if (task.links.last_frame_url) {
    media.append(h("h2", {text: t("Last frame")}), h("img", {src: task.links.last_frame_url, alt: t("Last frame"),
      class: "frame", "data-testid": "last-frame"}));
  }
  const s = task.spec;
  const yesNo = v => t(v ? "yes" : "no");
  const params = kv([[t("Model"), task.model], [t("Mode"), t(MODE_NAMES[s.mode] || s.mode)], [t("Prompt"), s.prompt],
    [t("Resolution"), s.resolution], [t("Ratio"), s.ratio], [t("Size"), s.width ? `${s.width}x${s.height}` : undefined],
    [t("Duration"), s.duration], [t("Frames"), s.frame_count], [t("Seed"), s.seed],
    [t("Audio"), s.generate_audio === null ? t("no") : yesNo(s.generate_audio)], [t("Draft"), yesNo(s.draft)],
    [t("Service tier"), s.service_tier], [t("Dialect"), task.dialect], [t("Engine"), task.engine || s.engine],
    [t("Media"), s.media.length ? s.media.map(m => `${m.role || m.kind}: ${m.url}`).join("\n") : t("none")]]);
  const tm = task.timings;
  const timingPairs = [[t("Created"), when(tm.created_at)], [t("Started"), when(tm.started_at)],
    [t("Finished"), when(tm.finished_at)], [t("Waited in queue"), secs(tm.queued_s)], [t("Ran"), secs(tm.running_s)]];
  if (tm.links_expire_at) timingPairs.push([t("Links expire"), when(tm.links_expire_at)]);
  else if (!FINISHED.includes(task.status)) timingPairs.push([t("Run deadline"), when(tm.expires_at)]);
  const hooks = task.webhooks.length ? h("table", {"data-testid": "webhooks"},
    h("thead", {}, h("tr", {}, [t("URL"), t("Status"), t("Attempts"), t("Last error")].map(c => h("th", {text: c})))),
    h("tbody", {}, task.webhooks.map(w => h("tr", {}, h("td", {class: "mono", text: w.url}),
      h("td", {}, statusBadge(w.status)), h("td", {text: w.attempts}), h("td", {text: w.last_error || "-"})))))
    : h("p", {class: "hint", text: t("No webhook deliveries (no callback_url and no subscribed endpoint).")});
  const actions = h("div", {class: "actions"});
  if (task.links.video_url) {
    actions.append(h("a", {class: "button", href: task.links.video_url, download: fileName(task.links.video_url,
      `${task.id}.mp4`), "data-testid": "download", text: "⤓ " + t("Download")}));
  }
  if (task.links.last_frame_url) {
    actions.append(h("a", {class: "button secondary", href: task.links.last_frame_url,
      download: fileName(task.links.last_frame_url, `${task.id}.png`), text: t("Download the last frame")}));
  }
  actions.append(h("a", {class: "button secondary", href: `#/new?from=${encodeURIComponent(task.id)}`,
                         text: t("Re-run with edits")}));
  if (task.status === "succeeded" && s.draft) {
    // Draft then final: the final video reuses the draft's prompt, media and seed (Ark's draft_task item).
    actions.append(h("button", {type: "button", text: t("Make the final video"), onclick: async () => {
      try {
        const made = await api("/api/v3/contents/generations/tasks", {method: "POST",
          headers: {"Content-Type": "application/json"}, body: JSON.stringify({model: task.model,
            content: [{type: "draft_task", draft_task: {id: task.id}}]})});
        location.hash = `#/tasks/${made.id}`;
      } catch (err) { alert(err.message); }
    }}));
  }
  if (task.status === "queued") {
    actions.append(h("button", {class: "secondary", type: "button", text: t("Cancel"),
                                onclick: () => removeTask(task.id, "cancel")}));
  } else if (FINISHED.includes(task.status) && task.status !== "cancelled") {
    actions.append(h("button", {class: "danger", type: "button", text: t("Delete"),
                                onclick: () => removeTask(task.id, "delete")}));
  }
  // What it cost (delivered), or, until it finishes, the estimate its create took.
  const costPairs = task.cost ? [[t(task.cost.estimated ? "Estimated cost" : "Cost"), money({[task.cost.currency]: task.cost})]] : [];
  const usagePairs = Object.entries(task.usage || {}).map(([k, v]) => [t(k), v]);
  const usage = task.usage || task.cost ? h("div", {"data-testid": "task-cost"}, kv([...usagePairs, ...costPairs])) :
    h("p", {class: "hint", text: t("Usage is known once the task succeeds.")});
  main.replaceChildren(head, actions,
    h("div", {class: "split"}, media,
      h("div", {class: "side"}, h("div", {class: "card"}, h("h2", {text: t("Parameters")}), params))),
    h("div", {class: "grid2"}, h("div", {class: "card"}, h("h2", {text: t("Usage")}), usage),
      h("div", {class: "card"}, h("h2", {text: t("Timings")}), kv(timingPairs))),
    h("div", {class: "card"}, h("h2", {text: t("Webhook deliveries")}), hooks),
    h("div", {class: "card"}, h("h2", {text: t("Reproduce this request")}), snippetTabs(task.snippets)));
  if (FINISHED.includes(task.status)) { stopEvents(); return; }
  if (!live) return;
  // One stream for the life of the page: progress updates in place, a new status redraws the page.
  let shown = task.status;
  startEvents(u => {
    if (u.id !== task.id || !stillOn(`#/tasks/${id}`)) return;
    if (u.status !== shown) {
      shown = u.status;
      pageTask(id, false).then(() => {
        if (FINISHED.includes(shown)) stopEvents();
        const liveNow = document.getElementById("live");
        if (liveNow && state.stream) liveNow.textContent = t("● live");
      });
    } else {
      const box = document.querySelector(".media .progress");
      if (box) box.replaceWith(progressView(u));
      const big = document.querySelector("[data-testid=stage-pct]");
      if (big) big.textContent = `${Math.round(u.progress * 100)}%`;
    }
  });
}

// -- create form ---------------------------------------------------------------------------------------------------

let slotCount = 0;

// One media input: upload a file, give a URL, or pick an existing asset.
function mediaSlot(kind, role, label, required, assets) {
  const n = ++slotCount;
  const source = h("select", {id: `src-${n}`}, ["upload", "url", "asset"].map(v => h("option", {value: v, text: t(v)})));
  const accept = {image: "image/*", video: "video/*", audio: "audio/*"}[kind];
  const file = h("input", {type: "file", id: `file-${n}`, accept});
  const url = h("input", {type: "url", id: `url-${n}`, placeholder: "https://..."});
  const usable = assets.filter(a => a.kind === kind && a.status !== "failed");
  const asset = h("select", {id: `asset-${n}`}, h("option", {value: "", text: t("choose an asset")}),
    usable.map(a => h("option", {value: a.asset_url, text: `${a.name || a.id} (${t(a.status)})`})));
  const boxes = {upload: h("div", {}, h("label", {for: `file-${n}`, text: t("{x} file", {x: label})}), file),
    url: h("div", {hidden: true}, h("label", {for: `url-${n}`, text: t("{x} URL", {x: label})}), url),
    asset: h("div", {hidden: true}, h("label", {for: `asset-${n}`, text: t("{x} asset", {x: label})}), asset)};
  const note = h("p", {class: "hint", hidden: true});
  const el = h("div", {class: "media-item"}, h("div", {class: "row"},
    h("div", {}, h("label", {for: `src-${n}`, text: t("{x} source", {x: label})}), source), ...Object.values(boxes)),
    note);
  const show = () => { for (const [k, box] of Object.entries(boxes)) box.hidden = k !== source.value; };
  source.onchange = () => { show(); el.dispatchEvent(new Event("input", {bubbles: true})); };
  return {el, kind, role, required,
    // Start from a previous request's item (re-run): an asset of the library, a URL, or a note to attach again.
    preset: value => {
      if (value && usable.some(a => a.asset_url === value)) { source.value = "asset"; asset.value = value; }
      else if (value) { source.value = "url"; url.value = value; }
      else { note.hidden = false; note.textContent = t("Attach this file again: the original was sent inline."); }
      show();
    },
    // What the rules see: a placeholder for a file that is not uploaded yet.
    peek: () => ({kind, role, required,
      url: source.value === "upload" ? (file.files.length ? "upload://pending" : "") :
        source.value === "url" ? url.value.trim() : asset.value}),
    // The URL to send: uploads go to the asset library first and are referenced as asset://ID.
    resolve: async () => {
      if (source.value === "url") return url.value.trim();
      if (source.value === "asset") return asset.value;
      if (!file.files.length) return "";
      const data = new FormData();
      data.append("file", file.files[0]);
      data.append("name", file.files[0].name.slice(0, 60));
      const made = await api("/v1/assets", {method: "POST", body: data});
      return made.asset_url;
    }};
}

const REF_LABELS = {image: "Reference image", video: "Reference video", audio: "Reference audio"};

async function pageNew(params) {
  if (!state.models.length) state.models = (await api("/console/api/models")).items;
  const fromId = params.get("from") || "";
  let from = null;
  if (fromId) from = (await api(`/console/api/tasks/${encodeURIComponent(fromId)}`)).rerun;
  if (!stillOn("#/new")) return;
  let assets = [];
  try { assets = (await api("/v1/assets?limit=100")).data; } catch (e) { /* the form works without the library */ }
  const field = (id, label, control) => h("div", {}, h("label", {for: id, text: label}), control);
  const model = h("select", {id: "model"}, state.models.map(m => h("option", {value: m.id, text: m.name || m.id})));
  const modelInfo = h("p", {class: "hint", "data-testid": "model-info"});
  const mode = h("select", {id: "mode"});
  const prompt = h("textarea", {id: "prompt", placeholder: t("What happens in the video")});
  const resolution = h("select", {id: "resolution"});
  const ratio = h("select", {id: "ratio"});
  const duration = h("input", {type: "number", id: "duration", step: 1});
  const seed = h("input", {type: "number", id: "seed", placeholder: t("random")});
  const audio = h("input", {type: "checkbox", id: "audio"});
  const draft = h("input", {type: "checkbox", id: "draft"});
  const lastFrame = h("input", {type: "checkbox", id: "last-frame", checked: true});
  const mediaHead = h("h2", {text: t("Media"), hidden: true});
  const mediaBox = h("div");
  const problems = h("ul", {class: "errors", role: "alert", "data-testid": "problems"});
  const cost = h("p", {class: "hint", "data-testid": "cost", "aria-live": "polite"});
  const out = h("div");
  const submit = h("button", {type: "submit", class: "primary", text: t("Create task")});
  // Nothing is reported before the user did something: an untouched form is not a list of mistakes.
  let touched = false;
  let slots = [];
  const current = () => state.models.find(m => m.id === model.value);
  const options = (select, values, keep, fallback) => {
    select.replaceChildren(h("option", {value: "", text: fallback ? t("model default ({v})", {v: t(fallback)}) :
      t("model default")}), ...values.map(v => h("option", {value: v, selected: v === keep, text: t(v)})));
  };
  const addRef = (kind, value) => {
    const slot = mediaSlot(kind, `reference_${kind}`, t(REF_LABELS[kind]), false, assets);
    slot.el.append(h("button", {type: "button", class: "link", text: t("Remove"), onclick: () => {
      slots = slots.filter(x => x !== slot);
      slot.el.remove();
      check();
    }}));
    if (value !== undefined) slot.preset(value);
    slots.push(slot);
    mediaBox.insertBefore(slot.el, mediaBox.lastChild);
    check();
  };
  const layoutMedia = () => {
    slots = [];
    mediaBox.replaceChildren();
    if (mode.value === "first_frame" || mode.value === "first_last_frame") {
      slots.push(mediaSlot("image", "first_frame", t("First frame"), true, assets));
    }
    if (mode.value === "first_last_frame") slots.push(mediaSlot("image", "last_frame", t("Last frame"), true, assets));
    mediaBox.append(...slots.map(s => s.el));
    if (mode.value === "reference") {
      mediaBox.append(h("div", {class: "row"}, ["image", "video", "audio"].map(k => h("button", {type: "button",
        class: "secondary", text: t(`+ ${k}`), onclick: () => addRef(k)}))));
    }
    mediaHead.hidden = mode.value === "text";
  };
  // The model's own defaults: audio on where the model makes sound (as the server assumes when the field is left
  // out), resolution and ratio shown in the "model default" choice.
  const applyDefaults = () => {
    const m = current();
    const d = m.defaults || {};
    audio.checked = !!m.audio && d.generate_audio !== false;
  };
  const refresh = () => {
    const m = current();
    modelInfo.textContent = describeModel(m);
    const keepMode = mode.value || (m.modes.includes("text") ? "text" : m.modes[0]);
    mode.replaceChildren(...["text", "first_frame", "first_last_frame", "reference"].map(v => h("option", {value: v,
      text: t(MODE_NAMES[v]) + (m.modes.includes(v) ? "" : " " + t("(not supported)")), selected: v === keepMode})));
    const d = m.defaults || {};
    options(resolution, resolutionsFor(m, mode.value), resolution.value, d.resolution);
    options(ratio, ratiosFor(m, mode.value), ratio.value, (d.ratio || {})[mode.value]);
    const dur = m.duration;
    duration.min = dur.auto ? -1 : dur.min;
    duration.max = dur.max;
    duration.placeholder = `${dur.default === -1 ? t("auto") : dur.default} (${dur.min}-${dur.max}` +
      `${dur.auto ? ", -1 " + t("auto") : ""})`;
    audio.disabled = !m.audio;
    if (!m.audio) audio.checked = false;
    draft.disabled = !m.draft;
    if (!m.draft) draft.checked = false;
  };
  // The Ark create body of the form around `content`: what Create sends, and what the cost estimate quotes.
  const arkBody = content => {
    const body = {model: model.value, content};
    if (resolution.value) body.resolution = resolution.value;
    if (ratio.value) body.ratio = ratio.value;
    if (duration.value !== "") body.duration = Number(duration.value);
    if (seed.value !== "") body.seed = Number(seed.value);
    if (current().audio) body.generate_audio = audio.checked;
    if (draft.checked) body.draft = true;
    if (lastFrame.checked) body.return_last_frame = true;
    return body;
  };
  const mediaItem = (slot, url) => ({type: `${slot.kind}_url`, [`${slot.kind}_url`]: {url}, role: slot.role});
  const textItems = () => (prompt.value.trim() ? [{type: "text", text: prompt.value}] : []);
  // "This will cost ...": POST /v1/quote with the form's body, once typing pauses. Nothing is uploaded for it (a
  // quote fetches no media): a file still to upload stands in as the asset it will become.
  let quoteTimer = 0;
  let quoteSeq = 0;
  const quote = () => {
    clearTimeout(quoteTimer);
    quoteTimer = setTimeout(async () => {
      const seq = ++quoteSeq;
      if (checkForm(current(), formState()).length) { cost.textContent = ""; return; }
      const media = slots.map(s => [s, s.peek().url]).filter(([, url]) => url)
        .map(([s, url]) => mediaItem(s, url === "upload://pending" ? "asset://pending-upload" : url));
      try {
        const answer = await api("/v1/quote", {method: "POST", headers: {"Content-Type": "application/json"},
          body: JSON.stringify({request: arkBody([...textItems(), ...media])})});
        if (seq !== quoteSeq) return;
        cost.textContent = answer.quote
          ? t("This will cost about {total}", {total: answer.breakdown[answer.breakdown.length - 1].value}) + ": " +
            answer.breakdown.slice(0, -1).map(line => line.value).join("; ")
          : t("No price is set for this model.");
      } catch (err) {
        if (seq === quoteSeq) cost.textContent = "";  // the checks above and Create explain what is wrong
      }
    }, 300);
  };
  const formState = () => ({mode: mode.value, prompt: prompt.value, resolution: resolution.value, ratio: ratio.value,
    duration: duration.value, seed: seed.value, audio: audio.checked, draft: draft.checked,
    lastFrame: lastFrame.checked,
    media: slots.map(s => s.peek())});
  const check = () => {
    const found = checkForm(current(), formState());
    problems.replaceChildren(...(touched ? found : []).map(p => h("li", {text: p})));
    submit.disabled = touched && found.length > 0;
    quote();
    return found;
  };
  const touch = () => { touched = true; check(); };
  model.onchange = () => { touched = true; refresh(); applyDefaults(); layoutMedia(); check(); };
  mode.onchange = () => { touched = true; refresh(); layoutMedia(); check(); };
  const form = h("form", {class: "card", oninput: touch, onchange: touch, onsubmit: async e => {
    e.preventDefault();
    touched = true;
    if (check().length) return;
    submit.disabled = true;
    out.replaceChildren(h("p", {class: "hint", text: t("Sending…")}));
    try {
      const content = textItems();
      for (const slot of slots) {
        const url = await slot.resolve();
        if (url) content.push(mediaItem(slot, url));
      }
      const body = arkBody(content);
      const made = await api("/api/v3/contents/generations/tasks", {method: "POST",
        headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
      location.hash = `#/tasks/${made.id}`;
    } catch (err) {
      // The server is the authority: show its words.
      showError(out, err);
      submit.disabled = false;
    }
  }},
  h("div", {class: "grid"}, field("model", t("Model"), model), field("mode", t("Mode"), mode)), modelInfo,
  field("prompt", t("Prompt"), prompt), mediaHead, mediaBox,
  h("h2", {text: t("Options")}),
  h("div", {class: "grid"}, field("resolution", t("Resolution"), resolution), field("ratio", t("Ratio"), ratio),
    field("duration", t("Duration (seconds)"), duration), field("seed", t("Seed"), seed)),
  h("div", {class: "checks"},
    h("div", {class: "check"}, audio, h("label", {for: "audio", text: t("Generate audio")})),
    h("div", {class: "check"}, draft, h("label", {for: "draft", text: t("Draft (480p preview)")})),
    h("div", {class: "check"}, lastFrame, h("label", {for: "last-frame", text: t("Return the last frame")}))),
  problems, cost, submit, out);
  main.replaceChildren(h("h1", {text: from ? t("Re-run of {id}", {id: fromId}) : t("New task")}), form);
  if (from && state.models.some(m => m.id === from.model)) model.value = from.model;
  refresh();
  applyDefaults();
  if (from) {
    // Start from the earlier request as the server settled it; every field stays editable.
    if (current().modes.includes(from.mode)) mode.value = from.mode;
    refresh();
    prompt.value = from.prompt || "";
    if (from.resolution) resolution.value = from.resolution;
    if (from.ratio) ratio.value = from.ratio;
    if (from.duration !== null && from.duration !== undefined) duration.value = from.duration;
    if (from.seed !== null && from.seed !== undefined) seed.value = from.seed;
    if (from.generate_audio !== null && from.generate_audio !== undefined) audio.checked = from.generate_audio;
    draft.checked = from.draft && !draft.disabled;
    lastFrame.checked = from.return_last_frame;
  }
  layoutMedia();
  if (from) {
    const fixed = slots.slice();
    for (const item of from.media) {
      const slot = fixed.find(s => s.role === item.role);
      if (slot) slot.preset(item.url);
      else if (mode.value === "reference") addRef(item.kind, item.url);
    }
  }
  check();
}

// -- assets --------------------------------------------------------------------------------------------------------

async function pageAssets(params) {
  const group = params.get("group") || "";
  const file = h("input", {type: "file", id: "asset-file"});
  const url = h("input", {type: "url", id: "asset-url", placeholder: t("or https://...")});
  const name = h("input", {type: "text", id: "asset-name"});
  const groups = (await api("/console/api/groups")).items;
  const groupIn = h("select", {id: "asset-group"}, h("option", {value: "", text: t("no group")}),
    groups.map(g => h("option", {value: g.id, selected: g.id === group, text: g.name})));
  const groupName = h("input", {type: "text", id: "group-name"});
  const groupOut = h("div");
  const groupForm = h("form", {class: "card", onsubmit: async e => {
    e.preventDefault();
    try {
      const made = await api("/console/api/groups", {method: "POST", headers: {"Content-Type": "application/json"},
        body: JSON.stringify({name: groupName.value})});
      groupNames[made.id] = made.name;
      groupIn.append(h("option", {value: made.id, text: made.name}));
      groupIn.value = made.id;
      filter.append(h("option", {value: made.id, text: made.name}));
      groupName.value = "";
      groupOut.replaceChildren();
    } catch (err) { showError(groupOut, err); }
  }}, h("div", {class: "row"}, h("div", {}, h("label", {for: "group-name", text: t("New group name")}), groupName),
    h("button", {type: "submit", class: "secondary", text: t("Create group")})), groupOut);
  const groupNames = Object.fromEntries(groups.map(g => [g.id, g.name]));
  const out = h("div");
  const tbody = h("tbody");
  const form = h("form", {class: "card", onsubmit: async e => {
    e.preventDefault();
    try {
      const fields = {name: name.value.trim(), group_id: groupIn.value.trim()};
      if (file.files.length) {
        const data = new FormData();
        data.append("file", file.files[0]);
        for (const [k, v] of Object.entries(fields)) if (v) data.append(k, v);
        await api("/v1/assets", {method: "POST", body: data});
      } else if (url.value.trim()) {
        const body = {url: url.value.trim()};
        for (const [k, v] of Object.entries(fields)) if (v) body[k] = v;
        await api("/v1/assets", {method: "POST", headers: {"Content-Type": "application/json"},
                                 body: JSON.stringify(body)});
      } else { throw new Error(t("choose a file or give a URL")); }
      form.reset();
      out.replaceChildren();
      load();
    } catch (err) { showError(out, err); }
  }}, h("div", {class: "row"}, h("div", {}, h("label", {for: "asset-file", text: t("File")}), file),
    h("div", {}, h("label", {for: "asset-url", text: t("URL")}), url),
    h("div", {}, h("label", {for: "asset-name", text: t("Name")}), name),
    h("div", {}, h("label", {for: "asset-group", text: t("Group")}), groupIn),
    h("button", {type: "submit", text: t("Upload")})), out);
  const filter = h("select", {id: "group-filter"}, h("option", {value: "", text: t("all groups")}),
    groups.map(g => h("option", {value: g.id, selected: g.id === group, text: g.name})));
  filter.onchange = () => { location.hash = "#/assets" + (filter.value ? `?group=${encodeURIComponent(filter.value)}` : ""); };
  main.replaceChildren(h("h1", {text: t("Assets")}), form, groupForm,
    h("div", {class: "row filter-row"}, h("div", {}, h("label", {for: "group-filter", text: t("Filter by group")}),
      filter)),
    h("div", {class: "table-card"}, h("table", {class: "tasks"}, h("thead", {}, h("tr", {}, [t("Asset"), t("Kind"),
      t("Status"), t("Audit"), t("Group"), t("Created"), t("Actions")].map(c => h("th", {text: c})))), tbody)));
  let timer = null;
  async function load() {
    clearTimeout(timer);
    const q = new URLSearchParams({limit: "100"});
    if (group) q.set("group_id", group);
    let list;
    try { list = await api(`/v1/assets?${q}`); } catch (err) { showError(tbody, err); return; }
    tbody.replaceChildren(...list.data.map(a => h("tr", {"data-testid": `asset-row-${a.id}`},
      h("td", {"data-label": t("Asset")}, h("div", {text: a.name || a.id}), h("div", {class: "mono hint", text: a.asset_url})),
      h("td", {"data-label": t("Kind"), text: a.kind || "-"}),
      h("td", {"data-label": t("Status")}, statusBadge(a.status)),
      h("td", {"data-label": t("Audit"), text: a.error ? `${a.error.code || ""} ${a.error.message || ""}` :
        (a.info && a.info.width ? `${a.info.format || ""} ${a.info.width}x${a.info.height}` : "-")}),
      h("td", {"data-label": t("Group")}, a.group_id ? h("a", {href: `#/assets?group=${encodeURIComponent(a.group_id)}`,
        text: groupNames[a.group_id] || a.group_id}) : "-"),
      h("td", {"data-label": t("Created"), text: when(a.created_at)}),
      h("td", {}, h("button", {type: "button", class: "danger", "aria-label": `Delete asset ${a.id}`, text: t("Delete"),
        onclick: async () => { await api(`/v1/assets/${a.id}`, {method: "DELETE"}); load(); }})))));
    // Audits finish in the background: look again while any is still processing.
    if (list.data.some(a => a.status === "processing") && location.hash.startsWith("#/assets")) {
      timer = setTimeout(load, 1000);
    }
  }
  load();
}

// -- admin ---------------------------------------------------------------------------------------------------------

async function pageAdmin() {
  if (!state.me.admin) { main.replaceChildren(h("p", {class: "error", text: t("This page needs an admin key.")})); return; }
  const keysBody = h("tbody");
  const chanBody = h("tbody");
  const name = h("input", {type: "text", id: "key-name"});
  const admin = h("input", {type: "checkbox", id: "key-admin"});
  const out = h("div");
  const form = h("form", {class: "card", onsubmit: async e => {
    e.preventDefault();
    try {
      const made = await api("/console/api/keys", {method: "POST", headers: {"Content-Type": "application/json"},
        body: JSON.stringify({name: name.value, admin: admin.checked})});
      out.replaceChildren(h("p", {}, t("New key (shown once): "), h("code", {"data-testid": "new-secret",
        text: made.secret})));
      loadKeys();
    } catch (err) { showError(out, err); }
  }}, h("div", {class: "row"}, h("div", {}, h("label", {for: "key-name", text: t("Key name")}), name),
    h("div", {}, h("label", {for: "key-admin", text: t("Admin")}), admin),
    h("button", {type: "submit", text: t("Create key")})), out);
  main.replaceChildren(h("h1", {text: t("Admin")}), h("h2", {text: t("API keys")}), form,
    h("div", {class: "table-card"}, h("table", {class: "tasks", "data-testid": "keys"}, h("thead", {}, h("tr", {},
      [t("ID"), t("Name"), t("Admin"), t("Created"), t("Revoked"), t("Actions")].map(c => h("th", {text: c})))),
      keysBody)),
    h("h2", {text: t("Upstream channels")}),
    h("div", {class: "table-card"}, h("table", {class: "tasks", "data-testid": "channels"}, h("thead", {}, h("tr", {},
      [t("Name"), t("Kind"), t("Base URL"), t("Models"), t("Priority")].map(c => h("th", {text: c})))), chanBody)));
  async function loadKeys() {
    const keys = await api("/console/api/keys");
    keysBody.replaceChildren(...keys.items.map(k => h("tr", {},
      h("td", {"data-label": t("ID"), class: "mono", text: k.id}), h("td", {"data-label": t("Name"), text: k.name}),
      h("td", {"data-label": t("Admin"), text: t(k.admin ? "yes" : "no")}),
      h("td", {"data-label": t("Created"), text: when(k.created_at)}),
      h("td", {"data-label": t("Revoked"), text: k.revoked_at ? when(k.revoked_at) : "-"}),
      h("td", {}, k.revoked_at || k.id === state.me.id ? "" : h("button", {type: "button", class: "danger",
        "aria-label": `Revoke ${k.name}`, text: t("Revoke"), onclick: async () => {
          await api(`/console/api/keys/${k.id}`, {method: "DELETE"}); loadKeys(); }})))));
  }
  await loadKeys();
  const chans = await api("/console/api/channels");
  chanBody.replaceChildren(...(chans.items.length ? chans.items.map(c => h("tr", {},
    h("td", {text: c.name}), h("td", {text: c.kind}), h("td", {class: "mono", text: c.base_url}),
    h("td", {text: Object.keys(c.models).join(", ")}), h("td", {text: c.priority}))) :
    [h("tr", {}, h("td", {colspan: 5, class: "hint", text: t("No upstream channels: every model runs locally.")}))]));
}

// -- usage ---------------------------------------------------------------------------------------------------------

async function pageUsage(params) {
  const days = [7, 30, 90].includes(Number(params.get("days"))) ? Number(params.get("days")) : 30;
  const keyId = params.get("key") || "";
  const period = h("select", {id: "u-days"}, [7, 30, 90].map(n => h("option", {value: n, selected: n === days,
    text: t("last {n} days", {n})})));
  const controls = [h("div", {}, h("label", {for: "u-days", text: t("Period")}), period)];
  let keySel = null;
  if (state.me.admin) {
    const keys = (await api("/console/api/keys")).items;
    keySel = h("select", {id: "u-key"}, h("option", {value: "", text: t("this key")}),
      h("option", {value: "all", selected: keyId === "all", text: t("all keys")}),
      keys.filter(k => k.id !== state.me.id).map(k => h("option", {value: k.id, selected: k.id === keyId,
        text: `${k.name} (${k.id})`})));
    controls.push(h("div", {}, h("label", {for: "u-key", text: t("Key")}), keySel));
  }
  const go = () => {
    const q = new URLSearchParams({days: period.value});
    if (keySel && keySel.value) q.set("key", keySel.value);
    location.hash = `#/usage?${q}`;
  };
  period.onchange = go;
  if (keySel) keySel.onchange = go;
  const q = new URLSearchParams({days: String(days), tz: String(new Date().getTimezoneOffset())});
  if (keyId) q.set("key_id", keyId);
  const report = await api(`/console/api/usage?${q}`);
  if (!stillOn("#/usage")) return;
  const tot = report.totals;
  const stat = (label, value, id) => h("div", {class: "stat", "data-testid": `usage-${id}`},
    h("div", {class: "stat-value", text: value}), h("div", {class: "hint", text: label}));
  const cols = [t("Day"), t("Model"), t("Tasks"), t("Succeeded"), t("Failed"), t("Video seconds"), t("Tokens"),
    t("Cost")];
  const num = v => Number(v).toLocaleString(I18N.lang === "zh-CN" ? "zh-CN" : undefined);
  const rows = report.items.map(g => h("tr", {"data-testid": "usage-row"},
    h("td", {"data-label": t("Day"), class: "nowrap", text: g.day}), h("td", {"data-label": t("Model"), text: g.model}),
    h("td", {"data-label": t("Tasks"), class: "num", text: num(g.tasks)}),
    h("td", {"data-label": t("Succeeded"), class: "num", text: num(g.succeeded)}),
    h("td", {"data-label": t("Failed"), class: "num", text: num(g.failed)}),
    h("td", {"data-label": t("Video seconds"), class: "num", text: num(g.seconds)}),
    h("td", {"data-label": t("Tokens"), class: "num", text: num(g.tokens)}),
    h("td", {"data-label": t("Cost"), class: "num nowrap", text: money(g.cost)})));
  // Per model over the period, with a bar of its share of the tokens.
  const models = {};
  for (const g of report.items) {
    const m = models[g.model] || (models[g.model] = {tasks: 0, seconds: 0, tokens: 0, cost: {}});
    m.tasks += g.tasks; m.seconds += g.seconds; m.tokens += g.tokens;
    for (const [cur, v] of Object.entries(g.cost)) m.cost[cur] = {amount: (m.cost[cur] ? m.cost[cur].amount : 0) + v.amount};
  }
  const most = Math.max(1, ...Object.values(models).map(m => m.tokens));
  const byModel = Object.entries(models).sort((a, b) => b[1].tokens - a[1].tokens).map(([name, m]) =>
    h("div", {class: "share"}, h("div", {class: "share-name", text: name}),
      h("div", {class: "bar"}, h("span", {style: `width: ${Math.round(100 * m.tokens / most)}%`})),
      h("div", {class: "hint nowrap", text: `${num(m.tasks)} · ${num(Math.round(m.seconds * 10) / 10)} s · ${num(m.tokens)} · ${money(m.cost)}`})));
  main.replaceChildren(h("h1", {text: t("Usage")}),
    h("div", {class: "row card filters"}, ...controls),
    h("div", {class: "stats"}, stat(t("Tasks"), num(tot.tasks), "tasks"), stat(t("Succeeded"), num(tot.succeeded),
      "succeeded"), stat(t("Failed"), num(tot.failed), "failed"), stat(t("Video seconds"), num(tot.seconds), "seconds"),
      stat(t("Tokens"), num(tot.tokens), "tokens"), stat(t("Cost"), money(tot.cost), "cost"),
      Object.keys(tot.estimated).length ? stat(t("Reserved by unfinished tasks"), money(tot.estimated), "reserved") : ""),
    report.items.length ? h("div", {class: "card"}, h("h2", {text: t("By model")}), ...byModel) : "",
    h("h2", {text: t("Usage by day and model")}),
    h("div", {class: "table-card"}, h("table", {class: "tasks", "data-testid": "usage"}, h("thead", {}, h("tr", {},
      cols.map(c => h("th", {text: c})))), h("tbody", {}, rows.length ? rows :
      h("tr", {}, h("td", {colspan: 8, class: "hint", text: t("No tasks in this period.")}))))),
    h("p", {class: "hint", text: t("Counted from the tasks this server still keeps (finished tasks are removed after the retention period).")}));
}

// -- router --------------------------------------------------------------------------------------------------------

async function route() {
  stopEvents();
  applyLanguage();
  if (!state.key) { pageSignIn(); return; }
  if (!state.me) {
    try { state.me = await api("/console/api/me"); }
    catch (err) { state.key = ""; localStorage.removeItem("seedgate.key"); pageSignIn(err.message); return; }
  }
  document.getElementById("nav").hidden = false;
  document.getElementById("sign-out").hidden = false;
  document.getElementById("nav-admin").hidden = !state.me.admin;
  if (!state.models.length) {
    // Only what this node can run: the preview engine, configured local pipelines, models a channel serves.
    try { state.models = (await api("/console/api/models")).items; } catch (e) { state.models = []; }
  }
  const [path, query] = (location.hash.slice(1) || "/tasks").split("?");
  const params = new URLSearchParams(query || "");
  for (const a of document.querySelectorAll("nav a")) {
    a.classList.toggle("active", path.startsWith(a.getAttribute("href").slice(1)));
  }
  try {
    if (path.startsWith("/tasks/")) await pageTask(decodeURIComponent(path.slice(7)));
    else if (path === "/new") await pageNew(params);
    else if (path === "/usage") await pageUsage(params);
    else if (path === "/assets") await pageAssets(params);
    else if (path === "/admin") await pageAdmin();
    else await pageTasks(params);
  } catch (err) { showError(main, err); }
}

document.getElementById("sign-out").onclick = () => {
  localStorage.removeItem("seedgate.key");
  state.key = "";
  state.me = null;
  location.hash = "";
  route();
};
document.getElementById("lang").onclick = () => { I18N.set(I18N.lang === "zh-CN" ? "en" : "zh-CN"); route(); };
document.getElementById("theme").onclick = () => {
  localStorage.setItem("seedgate.theme", effectiveTheme() === "dark" ? "light" : "dark");
  applyTheme();
};
if (window.matchMedia) window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", applyTheme);
window.addEventListener("hashchange", route);
route();
