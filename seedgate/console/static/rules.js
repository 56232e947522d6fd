// The catalog rules of seedgate/core/validation.py, applied to the create form before it is sent.
// The server stays the authority: whatever it still refuses is shown as its own message.
"use strict";

const SEED_MAX = 2 ** 32 - 1;
const MODE_NAMES = {text: "text to video", first_frame: "first frame", first_last_frame: "first + last frame",
                    reference: "multimodal reference"};

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
  if (!model) return ["choose a model"];
  const mode = form.mode;
  if (!model.modes.includes(mode)) {
    problems.push(`${model.id} does not support ${MODE_NAMES[mode] || mode} generation; it supports: ` +
                  model.modes.map(m => MODE_NAMES[m] || m).join(", "));
  }
  if (mode === "text" && !form.prompt.trim()) problems.push("text-to-video needs a prompt");
  if (form.prompt.length > model.prompt_max_chars) {
    problems.push(`the prompt has ${form.prompt.length} characters; ${model.id} takes at most ${model.prompt_max_chars}`);
  }
  const media = form.media.filter(m => m.url);
  const missing = form.media.filter(m => !m.url && m.required);
  for (const m of missing) problems.push(`the ${m.role.replace("_", " ")} is missing (upload, URL or asset)`);
  if (mode === "reference") {
    const rule = model.reference;
    const counts = {image: 0, video: 0, audio: 0};
    for (const m of media) counts[m.kind] += 1;
    for (const kind of ["image", "video", "audio"]) {
      const [low, high] = rule[kind + "s"];
      if (counts[kind] && high === 0) problems.push(`${model.id} does not accept reference ${kind}s`);
      else if (counts[kind] > high || counts[kind] < low) {
        problems.push(`${model.id} accepts ${low} to ${high} reference ${kind}s, got ${counts[kind]}`);
      }
    }
    if (counts.audio && !counts.image && !counts.video && !rule.audio_alone) {
      problems.push(`${model.id} needs at least one reference image or video alongside audio`);
    }
    if (!media.length) problems.push("reference mode needs at least one image, video or audio");
  }
  if (model.assets_only && media.some(m => !m.url.startsWith("asset://"))) {
    problems.push(`${model.id} takes media only as asset:// references: upload the file or pick an asset`);
  }
  const resolutions = resolutionsFor(model, mode);
  if (form.resolution && !resolutions.includes(form.resolution)) {
    problems.push(`resolution ${form.resolution} is not available for ${model.id} in ${mode} mode; allowed: ` +
                  resolutions.join(", "));
  }
  const ratios = ratiosFor(model, mode);
  if (form.ratio && !ratios.includes(form.ratio)) {
    problems.push(`ratio ${form.ratio} is not available for ${model.id} in ${mode} mode; allowed: ${ratios.join(", ")}`);
  }
  const d = model.duration;
  if (form.duration !== "" && form.duration !== null) {
    const value = Number(form.duration);
    if (value === -1 && d.auto) {
      // the model chooses the length
    } else if (!Number.isInteger(value) || value < d.min || value > d.max) {
      problems.push(`duration must be a whole number in [${d.min}, ${d.max}]${d.auto ? " (or -1)" : ""} for ${model.id}`);
    } else if (d.values.length && !d.values.includes(value)) {
      problems.push(`${value} s is not an allowed duration for ${model.id}; allowed: ${d.values.join(", ")}`);
    }
  }
  if (form.seed !== "" && form.seed !== null) {
    const seed = Number(form.seed);
    if (!Number.isInteger(seed) || seed < -1 || seed > SEED_MAX) problems.push(`seed must be in [-1, ${SEED_MAX}]`);
  }
  if (form.audio && !model.audio) problems.push(`${model.id} makes silent videos; untick audio`);
  if (form.draft) {
    if (!model.draft) problems.push(`draft mode is not supported by ${model.id}`);
    if (form.resolution && form.resolution !== "480p") problems.push("draft videos are 480p only");
    if (form.lastFrame) problems.push("return last frame cannot be used with draft; untick it");
  }
  return problems;
}

// What a model can do, in one line for the model picker.
function describeModel(model) {
  const d = model.duration;
  const len = d.values.length ? d.values.join("/") + " s" : `${d.min}-${d.max} s`;
  const parts = [model.modes.map(m => MODE_NAMES[m] || m).join(", "), model.resolutions.join("/"), len];
  if (d.auto) parts.push("auto length");
  if (model.audio) parts.push("audio");
  if (model.draft) parts.push("draft");
  const r = model.reference;
  if (model.modes.includes("reference")) {
    parts.push(`refs: ${r.images[1]} img, ${r.videos[1]} video, ${r.audios[1]} audio`);
  }
  return parts.join(" · ");
}

if (typeof module !== "undefined") module.exports = {checkForm, describeModel, resolutionsFor, ratiosFor};
