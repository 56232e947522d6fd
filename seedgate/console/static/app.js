// seedgate console: a hash-routed single page over the public APIs and /console/api (no build step).
"use strict";

const state = {key: localStorage.getItem("seedgate.key") || "", me: null, models: [], stream: null};
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

const when = t => (t ? new Date(t * 1000).toLocaleString() : "-");
const secs = s => (s === null || s === undefined ? "-" : `${s.toFixed(1)} s`);
const statusBadge = s => h("span", {class: `status ${s}`, "data-testid": "status", text: s});
const FINISHED = ["succeeded", "failed", "expired", "cancelled"];

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
            if (event === "ready" && live) live.textContent = "● live";
            if (event === "task") onTask(JSON.parse(data));
            if (event === "gone" && onGone) onGone(JSON.parse(data).id);
          }
        }
      } catch (e) {
        if (ctrl.signal.aborted) return;
      }
      if (live) live.textContent = "reconnecting…";
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
  const input = h("input", {type: "password", id: "key", autocomplete: "off", placeholder: "sk-..."});
  const out = h("div");
  const form = h("form", {class: "card", onsubmit: async e => {
    e.preventDefault();
    state.key = input.value.trim();
    try {
      state.me = await api("/console/api/me");
      localStorage.setItem("seedgate.key", state.key);
      if (location.hash === "#/tasks") route(); else location.hash = "#/tasks";  // hashchange routes
    } catch (err) { showError(out, err); }
  }}, h("label", {for: "key", text: "API key"}), input, h("p", {class: "hint",
      text: "The key stays in this browser (localStorage) and is sent as Authorization: Bearer."}),
  h("button", {type: "submit", text: "Sign in"}), out);
  main.replaceChildren(h("h1", {text: "Sign in"}), message ? h("p", {class: "error", text: message}) : "", form);
}

// -- task list -----------------------------------------------------------------------------------------------------

function taskRow(t) {
  const actions = h("td", {"data-label": "Actions"});
  if (t.status === "queued") {
    actions.append(h("button", {class: "secondary", type: "button", onclick: () => removeTask(t.id, "cancel"),
                                "aria-label": `Cancel ${t.id}`, text: "Cancel"}));
  } else if (t.status !== "running" && t.status !== "cancelled") {
    actions.append(h("button", {class: "danger", type: "button", onclick: () => removeTask(t.id, "delete"),
                                "aria-label": `Delete ${t.id}`, text: "Delete"}));
  }
  const pct = Math.round((t.status === "succeeded" ? 1 : t.progress) * 100);
  return h("tr", {"data-testid": `task-row-${t.id}`, "data-status": t.status},
    h("td", {"data-label": "Task"}, h("a", {href: `#/tasks/${t.id}`, class: "mono", text: t.id})),
    h("td", {"data-label": "Status"}, statusBadge(t.status)),
    h("td", {"data-label": "Progress"}, h("progress", {max: 100, value: pct, "aria-label": `progress ${pct}%`})),
    h("td", {"data-label": "Model"}, `${t.model} · ${t.mode || ""}`),
    h("td", {"data-label": "Prompt", text: t.prompt.length > 80 ? t.prompt.slice(0, 80) + "…" : t.prompt}),
    h("td", {"data-label": "Created", text: when(t.created_at)}),
    actions);
}

async function removeTask(id, verb) {
  if (verb === "delete" && !confirm(`Delete ${id} and its files?`)) return;
  try {
    await api(`/api/v3/contents/generations/tasks/${id}`, {method: "DELETE"});
    if (location.hash.startsWith("#/tasks/")) location.hash = "#/tasks";
    else route();
  } catch (err) { alert(err.message); }
}

async function pageTasks(params) {
  const status = params.get("status") || "";
  const model = params.get("model") || "";
  const statusSel = h("select", {id: "f-status"}, ["", "queued", "running", "succeeded", "failed", "cancelled",
    "expired"].map(s => h("option", {value: s, selected: s === status, text: s || "any"})));
  const modelSel = h("select", {id: "f-model"}, h("option", {value: "", text: "any"}),
    state.models.map(m => h("option", {value: m.id, selected: m.id === model, text: m.id})));
  const apply = () => {
    const q = new URLSearchParams();
    if (statusSel.value) q.set("status", statusSel.value);
    if (modelSel.value) q.set("model", modelSel.value);
    location.hash = "#/tasks" + (q.toString() ? "?" + q : "");
  };
  statusSel.onchange = apply;
  modelSel.onchange = apply;
  const tbody = h("tbody");
  const total = h("span", {class: "hint"});
  main.replaceChildren(
    h("div", {class: "head"}, h("h1", {text: "Tasks"}), h("span", {id: "live", class: "live", text: "connecting…"})),
    h("div", {class: "row card"}, h("div", {}, h("label", {for: "f-status", text: "Status"}), statusSel),
      h("div", {}, h("label", {for: "f-model", text: "Model"}), modelSel),
      h("a", {href: "#/new", class: "button", text: "Create a task"})),
    h("table", {class: "tasks"}, h("thead", {}, h("tr", {}, ["Task", "Status", "Progress", "Model", "Prompt",
      "Created", ""].map(c => h("th", {text: c})))), tbody), total);
  const q = new URLSearchParams({limit: "50"});
  if (status) q.set("status", status);
  if (model) q.set("model", model);
  try {
    const page = await api(`/console/api/tasks?${q}`);
    if (!stillOn("#/tasks") || stillOn("#/tasks/")) return;
    tbody.replaceChildren(...page.items.map(taskRow));
    total.textContent = `${page.total} task(s)`;
  } catch (err) { showError(tbody, err); return; }
  let count = Number.parseInt(total.textContent, 10) || 0;
  const recount = delta => { count += delta; total.textContent = `${count} task(s)`; };
  const matches = t => (!status || t.status === status) && (!model || t.model === model);
  startEvents(t => {
    const old = tbody.querySelector(`[data-testid="task-row-${t.id}"]`);
    if (!matches(t)) { if (old) { old.remove(); recount(-1); } return; }
    if (old) old.replaceWith(taskRow(t)); else { tbody.prepend(taskRow(t)); recount(1); }
  }, id => {
    const old = tbody.querySelector(`[data-testid="task-row-${id}"]`);
    if (old) { old.remove(); recount(-1); }
  });
}

// -- task page -----------------------------------------------------------------------------------------------------

function snippetTabs(snippets) {
  const names = {curl: "curl", ark: "Ark SDK (Python)", openai: "OpenAI SDK (Python)"};
  const pre = h("pre", {"data-testid": "snippet"});
  const copy = h("button", {type: "button", class: "secondary", text: "Copy"});
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
    try { await navigator.clipboard.writeText(snippets[current]); copy.textContent = "Copied"; }
    catch (e) { copy.textContent = "Select the text to copy"; }
  };
  select("curl");
  return h("div", {}, h("div", {class: "row"}, tabs, copy), pre);
}

async function pageTask(id) {
  let t;
  try { t = await api(`/console/api/tasks/${encodeURIComponent(id)}`); }
  catch (err) { if (stillOn(`#/tasks/${id}`)) showError(main, err); return; }
  if (!stillOn(`#/tasks/${id}`)) return;
  const head = h("div", {class: "head"}, h("h1", {class: "mono", text: t.id}), statusBadge(t.status),
    h("span", {id: "live", class: "live"}));
  const media = h("div", {class: "card"});
  if (t.links.video_url) {
    media.append(h("h2", {text: "Video"}), h("video", {src: t.links.video_url, controls: true, preload: "auto",
      playsinline: true, "data-testid": "video"}));
  } else if (!FINISHED.includes(t.status)) {
    const pct = Math.round(t.progress * 100);
    media.append(h("p", {text: `${t.status}…`}), h("progress", {max: 100, value: pct, "aria-label": `progress ${pct}%`}));
  } else if (t.error) {
    media.append(h("p", {class: "error", role: "alert", text: `${t.error.code}: ${t.error.message}`}));
  } else {
    media.append(h("p", {text: `This task is ${t.status}.`}));
  }
  if (t.links.last_frame_url) {
    media.append(h("h2", {text: "Last frame"}), h("img", {src: t.links.last_frame_url, alt: "last frame",
      class: "frame", "data-testid": "last-frame"}));
  }
  const s = t.spec;
  const params = kv([["Model", t.model], ["Mode", s.mode], ["Prompt", s.prompt], ["Resolution", s.resolution],
    ["Ratio", s.ratio], ["Size", s.width ? `${s.width}x${s.height}` : undefined], ["Duration", s.duration],
    ["Frames", s.frame_count], ["Seed", s.seed], ["Audio", s.generate_audio === null ? "no" : String(s.generate_audio)],
    ["Draft", String(!!s.draft)], ["Service tier", s.service_tier], ["Dialect", t.dialect],
    ["Engine", t.engine || s.engine], ["Media", s.media.length ? s.media.map(m => `${m.role || m.kind}: ${m.url}`)
      .join("\n") : "none"]]);
  const tm = t.timings;
  const timingList = kv([["Created", when(tm.created_at)], ["Started", when(tm.started_at)],
    ["Finished", when(tm.finished_at)], ["Waited in queue", secs(tm.queued_s)], ["Ran", secs(tm.running_s)],
    ["Expires", when(tm.expires_at)]]);
  const hooks = t.webhooks.length ? h("table", {"data-testid": "webhooks"},
    h("thead", {}, h("tr", {}, ["URL", "Status", "Attempts", "Last error"].map(c => h("th", {text: c})))),
    h("tbody", {}, t.webhooks.map(w => h("tr", {}, h("td", {class: "mono", text: w.url}),
      h("td", {}, statusBadge(w.status)), h("td", {text: w.attempts}), h("td", {text: w.last_error || "-"})))))
    : h("p", {class: "hint", text: "No webhook deliveries (no callback_url and no subscribed endpoint)."});
  const actions = h("div", {class: "row"});
  if (t.status === "queued") {
    actions.append(h("button", {class: "secondary", type: "button", text: "Cancel",
                                onclick: () => removeTask(t.id, "cancel")}));
  } else if (FINISHED.includes(t.status) && t.status !== "cancelled") {
    actions.append(h("button", {class: "danger", type: "button", text: "Delete",
                                onclick: () => removeTask(t.id, "delete")}));
  }
  if (t.status === "succeeded" && s.draft) {
    // Draft then final: the final video reuses the draft's prompt, media and seed (Ark's draft_task item).
    actions.append(h("button", {type: "button", text: "Make the final video", onclick: async () => {
      try {
        const made = await api("/api/v3/contents/generations/tasks", {method: "POST",
          headers: {"Content-Type": "application/json"}, body: JSON.stringify({model: t.model,
            content: [{type: "draft_task", draft_task: {id: t.id}}]})});
        location.hash = `#/tasks/${made.id}`;
      } catch (err) { alert(err.message); }
    }}));
  }
  main.replaceChildren(head, actions, media,
    h("div", {class: "card"}, h("h2", {text: "Parameters"}), params),
    h("div", {class: "card"}, h("h2", {text: "Usage"}), t.usage ? kv(Object.entries(t.usage)) :
      h("p", {class: "hint", text: "Usage is known once the task succeeds."})),
    h("div", {class: "card"}, h("h2", {text: "Timings"}), timingList),
    h("div", {class: "card"}, h("h2", {text: "Webhook deliveries"}), hooks),
    h("div", {class: "card"}, h("h2", {text: "Reproduce this request"}), snippetTabs(t.snippets)));
  if (!FINISHED.includes(t.status)) {
    startEvents(u => { if (u.id === t.id) pageTask(id); });
  } else {
    stopEvents();
  }
}

// -- create form ---------------------------------------------------------------------------------------------------

let slotCount = 0;

// One media input: upload a file, give a URL, or pick an existing asset.
function mediaSlot(kind, role, label, required, assets) {
  const n = ++slotCount;
  const source = h("select", {id: `src-${n}`}, ["upload", "url", "asset"].map(v => h("option", {value: v, text: v})));
  const accept = {image: "image/*", video: "video/*", audio: "audio/*"}[kind];
  const file = h("input", {type: "file", id: `file-${n}`, accept});
  const url = h("input", {type: "url", id: `url-${n}`, placeholder: "https://..."});
  const asset = h("select", {id: `asset-${n}`}, h("option", {value: "", text: "choose an asset"}),
    assets.filter(a => a.kind === kind && a.status !== "failed").map(a => h("option", {value: a.asset_url,
      text: `${a.name || a.id} (${a.status})`})));
  const boxes = {upload: h("div", {}, h("label", {for: `file-${n}`, text: `${label} file`}), file),
    url: h("div", {hidden: true}, h("label", {for: `url-${n}`, text: `${label} URL`}), url),
    asset: h("div", {hidden: true}, h("label", {for: `asset-${n}`, text: `${label} asset`}), asset)};
  const el = h("div", {class: "media-item"}, h("div", {class: "row"},
    h("div", {}, h("label", {for: `src-${n}`, text: `${label} source`}), source), ...Object.values(boxes)));
  source.onchange = () => { for (const [k, box] of Object.entries(boxes)) box.hidden = k !== source.value; el.dispatchEvent(new Event("input", {bubbles: true})); };
  return {el, kind, role, required,
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

async function pageNew() {
  if (!state.models.length) state.models = (await api("/v1/models")).data;
  let assets = [];
  try { assets = (await api("/v1/assets?limit=100")).data; } catch (e) { /* the form works without the library */ }
  const field = (id, label, control) => h("div", {}, h("label", {for: id, text: label}), control);
  const model = h("select", {id: "model"}, state.models.map(m => h("option", {value: m.id, text: m.name || m.id})));
  const modelInfo = h("p", {class: "hint", "data-testid": "model-info"});
  const mode = h("select", {id: "mode"});
  const prompt = h("textarea", {id: "prompt", placeholder: "What happens in the video"});
  const resolution = h("select", {id: "resolution"});
  const ratio = h("select", {id: "ratio"});
  const duration = h("input", {type: "number", id: "duration", step: 1});
  const seed = h("input", {type: "number", id: "seed", placeholder: "random"});
  const audio = h("input", {type: "checkbox", id: "audio"});
  const draft = h("input", {type: "checkbox", id: "draft"});
  const lastFrame = h("input", {type: "checkbox", id: "last-frame", checked: true});
  const mediaBox = h("div");
  const problems = h("ul", {class: "errors", role: "alert", "data-testid": "problems"});
  const out = h("div");
  const submit = h("button", {type: "submit", text: "Create task"});
  let slots = [];
  const current = () => state.models.find(m => m.id === model.value);
  const options = (select, values, keep) => {
    select.replaceChildren(h("option", {value: "", text: "model default"}),
      ...values.map(v => h("option", {value: v, selected: v === keep, text: v})));
  };
  const addRef = kind => {
    const slot = mediaSlot(kind, `reference_${kind}`, `Reference ${kind}`, false, assets);
    slot.el.append(h("button", {type: "button", class: "link", text: "Remove", onclick: () => {
      slots = slots.filter(x => x !== slot);
      slot.el.remove();
      check();
    }}));
    slots.push(slot);
    mediaBox.insertBefore(slot.el, mediaBox.lastChild);
    check();
  };
  const layoutMedia = () => {
    slots = [];
    mediaBox.replaceChildren();
    if (mode.value === "first_frame" || mode.value === "first_last_frame") {
      slots.push(mediaSlot("image", "first_frame", "First frame", true, assets));
    }
    if (mode.value === "first_last_frame") slots.push(mediaSlot("image", "last_frame", "Last frame", true, assets));
    mediaBox.append(...slots.map(s => s.el));
    if (mode.value === "reference") {
      mediaBox.append(h("div", {class: "row"}, ["image", "video", "audio"].map(k => h("button", {type: "button",
        class: "secondary", text: `+ ${k}`, onclick: () => addRef(k)}))));
    }
  };
  const refresh = () => {
    const m = current();
    modelInfo.textContent = describeModel(m);
    const keepMode = mode.value;
    mode.replaceChildren(...["text", "first_frame", "first_last_frame", "reference"].map(v => h("option", {value: v,
      text: MODE_NAMES[v] + (m.modes.includes(v) ? "" : " (not supported)"), selected: v === keepMode})));
    options(resolution, resolutionsFor(m, mode.value), resolution.value);
    options(ratio, ratiosFor(m, mode.value), ratio.value);
    const d = m.duration;
    duration.min = d.auto ? -1 : d.min;
    duration.max = d.max;
    duration.placeholder = `${d.default === -1 ? "auto" : d.default} (${d.min}-${d.max}${d.auto ? ", -1 auto" : ""})`;
    audio.disabled = !m.audio;
    if (!m.audio) audio.checked = false;
    draft.disabled = !m.draft;
    if (!m.draft) draft.checked = false;
  };
  const formState = () => ({mode: mode.value, prompt: prompt.value, resolution: resolution.value, ratio: ratio.value,
    duration: duration.value, seed: seed.value, audio: audio.checked, draft: draft.checked,
    lastFrame: lastFrame.checked,
    media: slots.map(s => s.peek())});
  const check = () => {
    const found = checkForm(current(), formState());
    problems.replaceChildren(...found.map(p => h("li", {text: p})));
    submit.disabled = found.length > 0;
    return found;
  };
  model.onchange = () => { refresh(); layoutMedia(); check(); };
  mode.onchange = () => { refresh(); layoutMedia(); check(); };
  const form = h("form", {class: "card", oninput: check, onchange: check, onsubmit: async e => {
    e.preventDefault();
    if (check().length) return;
    submit.disabled = true;
    out.replaceChildren(h("p", {class: "hint", text: "Sending…"}));
    try {
      const content = [];
      if (prompt.value.trim()) content.push({type: "text", text: prompt.value});
      for (const slot of slots) {
        const url = await slot.resolve();
        if (url) content.push({type: `${slot.kind}_url`, [`${slot.kind}_url`]: {url}, role: slot.role});
      }
      const body = {model: model.value, content};
      if (resolution.value) body.resolution = resolution.value;
      if (ratio.value) body.ratio = ratio.value;
      if (duration.value !== "") body.duration = Number(duration.value);
      if (seed.value !== "") body.seed = Number(seed.value);
      if (current().audio) body.generate_audio = audio.checked;
      if (draft.checked) body.draft = true;
      if (lastFrame.checked) body.return_last_frame = true;
      const made = await api("/api/v3/contents/generations/tasks", {method: "POST",
        headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
      location.hash = `#/tasks/${made.id}`;
    } catch (err) {
      // The server is the authority: show its words.
      showError(out, err);
      submit.disabled = false;
    }
  }},
  h("div", {class: "grid"}, field("model", "Model", model), field("mode", "Mode", mode)), modelInfo,
  field("prompt", "Prompt", prompt), h("h2", {text: "Media"}), mediaBox,
  h("h2", {text: "Options"}),
  h("div", {class: "grid"}, field("resolution", "Resolution", resolution), field("ratio", "Ratio", ratio),
    field("duration", "Duration (seconds)", duration), field("seed", "Seed", seed),
    h("div", {}, h("label", {for: "audio", text: "Generate audio"}), audio),
    h("div", {}, h("label", {for: "draft", text: "Draft (480p preview)"}), draft),
    h("div", {}, h("label", {for: "last-frame", text: "Return the last frame"}), lastFrame)),
  problems, submit, out);
  main.replaceChildren(h("h1", {text: "New task"}), form);
  refresh();
  layoutMedia();
  check();
}

// -- assets --------------------------------------------------------------------------------------------------------

async function pageAssets(params) {
  const group = params.get("group") || "";
  const file = h("input", {type: "file", id: "asset-file"});
  const url = h("input", {type: "url", id: "asset-url", placeholder: "or https://..."});
  const name = h("input", {type: "text", id: "asset-name"});
  const groups = (await api("/console/api/groups")).items;
  const groupIn = h("select", {id: "asset-group"}, h("option", {value: "", text: "no group"}),
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
  }}, h("div", {class: "row"}, h("div", {}, h("label", {for: "group-name", text: "New group name"}), groupName),
    h("button", {type: "submit", class: "secondary", text: "Create group"})), groupOut);
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
      } else { throw new Error("choose a file or give a URL"); }
      form.reset();
      out.replaceChildren();
      load();
    } catch (err) { showError(out, err); }
  }}, h("div", {class: "row"}, h("div", {}, h("label", {for: "asset-file", text: "File"}), file),
    h("div", {}, h("label", {for: "asset-url", text: "URL"}), url),
    h("div", {}, h("label", {for: "asset-name", text: "Name"}), name),
    h("div", {}, h("label", {for: "asset-group", text: "Group"}), groupIn),
    h("button", {type: "submit", text: "Upload"})), out);
  const filter = h("select", {id: "group-filter"}, h("option", {value: "", text: "all groups"}),
    groups.map(g => h("option", {value: g.id, selected: g.id === group, text: g.name})));
  filter.onchange = () => { location.hash = "#/assets" + (filter.value ? `?group=${encodeURIComponent(filter.value)}` : ""); };
  main.replaceChildren(h("h1", {text: "Assets"}), form, groupForm,
    h("div", {class: "row"}, h("div", {}, h("label", {for: "group-filter", text: "Filter by group"}), filter)),
    h("table", {class: "tasks"}, h("thead", {}, h("tr", {}, ["Asset", "Kind", "Status", "Audit", "Group",
      "Created", ""].map(c => h("th", {text: c})))), tbody));
  let timer = null;
  async function load() {
    clearTimeout(timer);
    const q = new URLSearchParams({limit: "100"});
    if (group) q.set("group_id", group);
    let list;
    try { list = await api(`/v1/assets?${q}`); } catch (err) { showError(tbody, err); return; }
    tbody.replaceChildren(...list.data.map(a => h("tr", {"data-testid": `asset-row-${a.id}`},
      h("td", {"data-label": "Asset"}, h("div", {text: a.name || a.id}), h("div", {class: "mono hint", text: a.asset_url})),
      h("td", {"data-label": "Kind", text: a.kind || "-"}),
      h("td", {"data-label": "Status"}, statusBadge(a.status)),
      h("td", {"data-label": "Audit", text: a.error ? `${a.error.code || ""} ${a.error.message || ""}` :
        (a.info && a.info.width ? `${a.info.format || ""} ${a.info.width}x${a.info.height}` : "-")}),
      h("td", {"data-label": "Group"}, a.group_id ? h("a", {href: `#/assets?group=${encodeURIComponent(a.group_id)}`,
        text: groupNames[a.group_id] || a.group_id}) : "-"),
      h("td", {"data-label": "Created", text: when(a.created_at)}),
      h("td", {}, h("button", {type: "button", class: "danger", "aria-label": `Delete asset ${a.id}`, text: "Delete",
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
  if (!state.me.admin) { main.replaceChildren(h("p", {class: "error", text: "This page needs an admin key."})); return; }
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
      out.replaceChildren(h("p", {}, "New key (shown once): ", h("code", {"data-testid": "new-secret",
        text: made.secret})));
      loadKeys();
    } catch (err) { showError(out, err); }
  }}, h("div", {class: "row"}, h("div", {}, h("label", {for: "key-name", text: "Key name"}), name),
    h("div", {}, h("label", {for: "key-admin", text: "Admin"}), admin),
    h("button", {type: "submit", text: "Create key"})), out);
  main.replaceChildren(h("h1", {text: "Admin"}), h("h2", {text: "API keys"}), form,
    h("table", {class: "tasks", "data-testid": "keys"}, h("thead", {}, h("tr", {}, ["ID", "Name", "Admin", "Created",
      "Revoked", ""].map(c => h("th", {text: c})))), keysBody),
    h("h2", {text: "Upstream channels"}),
    h("table", {class: "tasks", "data-testid": "channels"}, h("thead", {}, h("tr", {}, ["Name", "Kind", "Base URL",
      "Models", "Priority"].map(c => h("th", {text: c})))), chanBody));
  async function loadKeys() {
    const keys = await api("/console/api/keys");
    keysBody.replaceChildren(...keys.items.map(k => h("tr", {},
      h("td", {"data-label": "ID", class: "mono", text: k.id}), h("td", {"data-label": "Name", text: k.name}),
      h("td", {"data-label": "Admin", text: k.admin ? "yes" : "no"}),
      h("td", {"data-label": "Created", text: when(k.created_at)}),
      h("td", {"data-label": "Revoked", text: k.revoked_at ? when(k.revoked_at) : "-"}),
      h("td", {}, k.revoked_at || k.id === state.me.id ? "" : h("button", {type: "button", class: "danger",
        "aria-label": `Revoke ${k.name}`, text: "Revoke", onclick: async () => {
          await api(`/console/api/keys/${k.id}`, {method: "DELETE"}); loadKeys(); }})))));
  }
  await loadKeys();
  const chans = await api("/console/api/channels");
  chanBody.replaceChildren(...(chans.items.length ? chans.items.map(c => h("tr", {},
    h("td", {text: c.name}), h("td", {text: c.kind}), h("td", {class: "mono", text: c.base_url}),
    h("td", {text: Object.keys(c.models).join(", ")}), h("td", {text: c.priority}))) :
    [h("tr", {}, h("td", {colspan: 5, class: "hint", text: "No upstream channels: every model runs locally."}))]));
}

// -- router --------------------------------------------------------------------------------------------------------

async function route() {
  stopEvents();
  if (!state.key) { pageSignIn(); return; }
  if (!state.me) {
    try { state.me = await api("/console/api/me"); }
    catch (err) { state.key = ""; localStorage.removeItem("seedgate.key"); pageSignIn(err.message); return; }
  }
  document.getElementById("nav").hidden = false;
  document.getElementById("nav-admin").hidden = !state.me.admin;
  if (!state.models.length) {
    try { state.models = (await api("/v1/models")).data; } catch (e) { state.models = []; }
  }
  const [path, query] = (location.hash.slice(1) || "/tasks").split("?");
  const params = new URLSearchParams(query || "");
  for (const a of document.querySelectorAll("nav a")) {
    a.classList.toggle("active", path.startsWith(a.getAttribute("href").slice(1)));
  }
  try {
    if (path.startsWith("/tasks/")) await pageTask(decodeURIComponent(path.slice(7)));
    else if (path === "/new") await pageNew();
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
window.addEventListener("hashchange", route);
route();
