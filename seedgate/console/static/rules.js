// The catalog rules of seedgate/core/validation.py, applied to the create form before it is sent.
// The server stays the authority: whatever it still refuses is shown as its own message.
"use strict";

const SEED_MAX = 2 ** 32 - 1;
const MODE_NAMES = {text: "text to video", first_frame: "first frame", first_last_frame: "first + last frame",
                    reference: "multimodal reference"};

// A message in the console's language when i18n.js is loaded (t), else English with the {names} filled in.
function say(text, vars) {
  if (typeof t === "function") return t(text, vars);
  let out = text;
  for (const [k, v] of Object.entries(vars || {})) out = out.split(`{${k}}`).join(String(v));
  return out;
}
const modeName = m => say(MODE_NAMES[m] || m);

function resolutionsFor(model, mode) {
  return (model.mode_resolutions && model.mode_resolutions[mode]) || model.resolutions;
}

function ratiosFor(model, mode) {
  return model.ratios.filter(r => r !== "adaptive" || (model.adaptive_modes || []).includes(mode));
}

// form: {mode, prompt, resolution, ratio, duration (number|"" ), seed, audio, draft,
//        media: [{kind, role, url}]}; returns the list of problems in words, empty when the request looks valid.
function checkForm(model, form) {
  const problems = [];
  if (!model) return [say("choose a model")];
  const mode = form.mode;
  if (!model.modes.includes(mode)) {
    problems.push(say("{id} does not support {mode} generation; it supports: {list}",
                      {id: model.id, mode: modeName(mode), list: model.modes.map(modeName).join(", ")}));
  }
  if (mode === "text" && !form.prompt.trim()) problems.push(say("text-to-video needs a prompt"));
  if (form.prompt.length > model.prompt_max_chars) {
    problems.push(say("the prompt has {n} characters; {id} takes at most {max}",
                      {n: form.prompt.length, id: model.id, max: model.prompt_max_chars}));
  }
  const media = form.media.filter(m => m.url);
  const missing = form.media.filter(m => !m.url && m.required);
  for (const m of missing) {
    problems.push(say(`the ${m.role.replace("_", " ")} is missing (upload, URL or asset)`));
  }
  if (mode === "reference") {
    const rule = model.reference;
    const counts = {image: 0, video: 0, audio: 0};
    for (const m of media) counts[m.kind] += 1;
    for (const kind of ["image", "video", "audio"]) {
      const [low, high] = rule[kind + "s"];
      if (counts[kind] && high === 0) problems.push(say(`{id} does not accept reference ${kind}s`, {id: model.id}));
      else if (counts[kind] > high || counts[kind] < low) {
        problems.push(say(`{id} accepts {low} to {high} reference ${kind}s, got {n}`,
                          {id: model.id, low, high, n: counts[kind]}));
      }
    }
    if (counts.audio && !counts.image && !counts.video && !rule.audio_alone) {
      problems.push(say("{id} needs at least one reference image or video alongside audio", {id: model.id}));
    }
    if (!media.length) problems.push(say("reference mode needs at least one image, video or audio"));
  }
  if (model.assets_only && media.some(m => !m.url.startsWith("asset://"))) {
    problems.push(say("{id} takes media only as asset:// references: upload the file or pick an asset", {id: model.id}));
  }
  const resolutions = resolutionsFor(model, mode);
  if (form.resolution && !resolutions.includes(form.resolution)) {
    problems.push(say("resolution {v} is not available for {id} in {mode} mode; allowed: {list}",
                      {v: form.resolution, id: model.id, mode, list: resolutions.join(", ")}));
  }
  const ratios = ratiosFor(model, mode);
  if (form.ratio && !ratios.includes(form.ratio)) {
    problems.push(say("ratio {v} is not available for {id} in {mode} mode; allowed: {list}",
                      {v: form.ratio, id: model.id, mode, list: ratios.join(", ")}));
  }
  const d = model.duration;
  if (form.duration !== "" && form.duration !== null) {
    const value = Number(form.duration);
    if (value === -1 && d.auto) {
      // the model chooses the length
    } else if (!Number.isInteger(value) || value < d.min || value > d.max) {
      problems.push(say(d.auto ? "duration must be a whole number in [{min}, {max}] (or -1) for {id}" :
        "duration must be a whole number in [{min}, {max}] for {id}", {min: d.min, max: d.max, id: model.id}));
    } else if (d.values.length && !d.values.includes(value)) {
      problems.push(say("{v} s is not an allowed duration for {id}; allowed: {list}",
                        {v: value, id: model.id, list: d.values.join(", ")}));
    }
  }
  if (form.seed !== "" && form.seed !== null) {
    const seed = Number(form.seed);
    if (!Number.isInteger(seed) || seed < -1 || seed > SEED_MAX) problems.push(say("seed must be in [-1, {max}]", {max: SEED_MAX}));
  }
  if (form.audio && !model.audio) problems.push(say("{id} makes silent videos; untick audio", {id: model.id}));
  if (form.draft) {
    if (!model.draft) problems.push(say("draft mode is not supported by {id}", {id: model.id}));
    if (form.resolution && form.resolution !== "480p") problems.push(say("draft videos are 480p only"));
    if (form.lastFrame) problems.push(say("return last frame cannot be used with draft; untick it"));
  }
  return problems;
}

// What a model can do, in one line for the model picker.
function describeModel(model) {
  const d = model.duration;
  const len = d.values.length ? d.values.join("/") + " s" : `${d.min}-${d.max} s`;
  const parts = [model.modes.map(modeName).join(", "), model.resolutions.join("/"), len];
  if (d.auto) parts.push(say("auto length"));
  if (model.audio) parts.push(say("audio"));
  if (model.draft) parts.push(say("draft"));
  const r = model.reference;
  if (model.modes.includes("reference")) {
    parts.push(say("refs: {i} img, {v} video, {a} audio", {i: r.images[1], v: r.videos[1], a: r.audios[1]}));
  }
  return parts.join(" · ");
}

if (typeof module !== "undefined") module.exports = {checkForm, describeModel, resolutionsFor, ratiosFor};
