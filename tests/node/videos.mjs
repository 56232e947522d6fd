// Drives seedgate's OpenAI video routes with the official `openai` npm package, as an app would.
// Usage: node videos.mjs <package name: openai | openai6>; settings come from the environment (see below).
// Prints one JSON object: what each call answered. tests/test_openai_node.py checks it and the MP4s written to OUT.
import fs from 'node:fs';
import path from 'node:path';

const pkg = process.argv[2] || 'openai';
const { default: OpenAI, toFile } = await import(pkg);
const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const client = new OpenAI({ baseURL: env('SEEDGATE_URL') + '/v1', apiKey: env('SEEDGATE_KEY'), maxRetries: 0 });
const model = env('MODEL');
const out = env('OUT');
const clip = () => toFile(fs.createReadStream(env('VIDEO_PATH')), 'clip.mp4', { type: 'video/mp4' });

async function poll(id) {
  const deadline = Date.now() + 240_000;
  for (;;) {
    const video = await client.videos.retrieve(id);
    if (video.status !== 'queued' && video.status !== 'in_progress') return video;
    if (Date.now() > deadline) throw new Error(`video ${id} still ${video.status}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function save(id, name) {
  const response = await client.videos.downloadContent(id);
  fs.writeFileSync(path.join(out, name), Buffer.from(await response.arrayBuffer()));
  return name;
}

async function failure(call) {
  try {
    await call();
  } catch (error) {
    return { status: error.status, param: error.param ?? null, type: error.type ?? null, code: error.code ?? null };
  }
  return { status: 200 };
}

const result = { package: pkg };
// create always goes as multipart; the object reference as the bracket key input_reference[image_url].
const created = await client.videos.create({
  prompt: 'a paper boat on a pond', model, seconds: '4', size: '864x496',
  input_reference: { image_url: env('IMAGE_URL') },
});
result.created = created;
result.completed = await poll(created.id);
result.files = { created: await save(created.id, 'created.mp4') };

const edited = await client.videos.edit({ prompt: 'the boat turns red', video: { id: created.id } });
result.edited = await poll(edited.id);
result.files.edited = await save(edited.id, 'edited.mp4');

const extended = await client.videos.extend({ prompt: 'the boat drifts away', seconds: '4', video: { id: created.id } });
result.extended_created = extended;
result.extended = await poll(extended.id);
result.files.extended = await save(extended.id, 'extended.mp4');

const uploadedEdit = await client.videos.edit({ prompt: 'snow falls', video: await clip() });
result.uploaded_edit = await poll(uploadedEdit.id);
result.files.uploaded_edit = await save(uploadedEdit.id, 'uploaded_edit.mp4');

const character = await client.videos.createCharacter({ name: `Boaty-${pkg}`, video: await clip() });
result.character = character;
result.character_again = await client.videos.getCharacter(character.id);
// An array of objects goes as characters[][id].
const withCharacter = await client.videos.create({
  prompt: 'a boat race', model, seconds: '4', characters: [{ id: character.id }],
});
result.with_character = await poll(withCharacter.id);
result.files.with_character = await save(withCharacter.id, 'with_character.mp4');

const remix = await client.videos.remix(created.id, { prompt: 'the same boat at night' });
result.remix = await poll(remix.id);

const page = await client.videos.list({ limit: 2 });
result.page = { ids: page.data.map((v) => v.id), has_more: page.has_more };

result.errors = {
  unknown_source: await failure(() => client.videos.edit({ prompt: 'x', video: { id: 'cgt-20260101000000-nothere' } })),
  too_long: await failure(() => client.videos.extend({ prompt: 'x', seconds: '12', video: { id: created.id } })),
  unknown_character: await failure(() => client.videos.getCharacter('asset-20260101000000-nothere')),
  bad_size: await failure(() => client.videos.create({ prompt: 'x', model, size: 'huge' })),
};

// Webhook endpoint management arrived in the 7.x line; 6.x only verifies deliveries.
if (typeof client.webhooks.create === 'function') {
  const endpoint = await client.webhooks.create({
    name: `node-${pkg}`, url: env('WEBHOOK_URL'), event_types: ['video.completed'],
  });
  result.webhook_test = await client.webhooks.test(endpoint.id, { event_type: 'video.completed' });
  result.webhook_secret = endpoint.signing_secret;
  await client.webhooks.delete(endpoint.id);
}

process.stdout.write(JSON.stringify(result));
