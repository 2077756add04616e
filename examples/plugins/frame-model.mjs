/**
 * A model plugin in Node: runs its own ONNX model on camera frames. Each frame's JPEG (base64 in
 * the event, raw_media) is decoded to greyscale, resized to `size`×`size` with sharp, scaled to
 * 0..1 and fed to the model as float32 [1, size*size]; the model's first output, one number per
 * frame, is published on plugin/<id>/score with the frame's sequence number.
 *
 * It sees raw frames, so it runs without network (the config refuses otherwise unless the camera
 * tier is public):
 *
 *     plugins:
 *       - id: framemodel
 *         command: [node, examples/plugins/frame-model.mjs]
 *         raw_media: true
 *         sandbox: { network: false }
 *         config: { model: models/my-model.onnx, size: 32 }
 */
import { createInterface } from 'node:readline';
import ort from 'onnxruntime-node';
import sharp from 'sharp';

const id = process.env.EDGELOOM_PLUGIN_ID ?? 'framemodel';
const send = (msg) => process.stdout.write(`${JSON.stringify(msg)}\n`);
let session;
let size = 32;
// One frame at a time, in arrival order: a frame that comes while the model runs waits in line.
let chain = Promise.resolve();

async function onFrame(payload) {
  const jpeg = Buffer.from(payload.jpeg.$b64, 'base64');
  const grey = await sharp(jpeg).greyscale().resize(size, size, { fit: 'fill' }).raw().toBuffer();
  const input = new Float32Array(size * size);
  for (let i = 0; i < input.length; i++) input[i] = grey[i] / 255;
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', input, [1, size * size]) };
  const out = await session.run(feeds);
  const score = out[session.outputNames[0]].data[0];
  send({ type: 'publish', topic: `plugin/${id}/score`, payload: { frameSeq: payload.seq, score } });
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const msg = JSON.parse(line);
  if (msg.type === 'init') {
    size = msg.config.size ?? 32;
    chain = ort.InferenceSession.create(msg.config.model).then(
      (s) => {
        session = s;
        send({
          type: 'hello',
          name: 'frame-model',
          version: '1.0.0',
          subscribe: ['sensor/camera/+/frame'],
          publish: [`plugin/${id}/score`],
          tools: [],
          // It answers `sync` once the frames before it are scored: replays wait for it.
          sync: true,
        });
      },
      (err) => {
        send({ type: 'log', level: 'error', msg: `model: ${err.message}` });
        process.exit(1);
      },
    );
  } else if (msg.type === 'event') {
    chain = chain.then(() =>
      onFrame(msg.payload).catch((err) => send({ type: 'log', level: 'warn', msg: err.message })),
    );
  } else if (msg.type === 'sync') {
    chain = chain.then(() => send({ type: 'synced', id: msg.id }));
  } else if (msg.type === 'shutdown') {
    chain.then(() => process.exit(0));
  }
});
lines.on('close', () => chain.then(() => process.exit(0)));
