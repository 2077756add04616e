import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isEdgeloomError } from '../../daemon/errors.js';
import { findEntry, loadManifest, type Manifest, validateManifest } from '../../daemon/models/manifest.js';

const REPO_MANIFEST = new URL('../../models/manifest.json', import.meta.url).pathname;

function base(): { version: number; models: Record<string, unknown>[] } {
  return JSON.parse(readFileSync(REPO_MANIFEST, 'utf8'));
}

function problemsOf(data: unknown): string {
  try {
    validateManifest(data, 'test.json');
  } catch (err) {
    if (isEdgeloomError(err, 'E_MODEL_MANIFEST')) return err.message;
    throw err;
  }
  throw new Error('expected the manifest to be rejected');
}

describe('model manifest validation', () => {
  it('accepts the repository manifest and finds entries by id', () => {
    const m: Manifest = loadManifest(REPO_MANIFEST);
    expect(m.models.map((e) => e.id)).toContain('silero-vad-v5');
    expect(findEntry(m, 'whisper-tiny').bundled).toBe(false);
    expect(() => findEntry(m, 'nope')).toThrow(/no model "nope".*known: silero-vad-v5/);
  });

  it('names the entry and the field of each problem, and reports all of them', () => {
    const data = base();
    const vad = data.models[0]!;
    vad.kind = 'camera';
    (vad.files as Record<string, unknown>[])[0]!.sha256 = 'ABC';
    const face = data.models[1]!;
    face.memory_mb = 0;
    (face.source as Record<string, unknown>).type = 'ftp';
    const msg = problemsOf(data);
    expect(msg).toMatch(/^test\.json: 4 problem\(s\)/);
    expect(msg).toContain('silero-vad-v5: kind must be one of vad, face-detector');
    expect(msg).toContain(
      'silero-vad-v5: files[0].sha256 must be 64 lower-case hex digits or null (got "ABC")',
    );
    expect(msg).toContain('faceapi-tiny-face-detector: memory_mb must be a number > 0');
    expect(msg).toContain(
      'faceapi-tiny-face-detector: source.type must be one of npm, generated, url (got "ftp")',
    );
  });

  it('falls back to the list index when the id itself is bad, and refuses duplicate ids', () => {
    const data = base();
    data.models[2]!.id = 'Bad Id';
    data.models[3]!.id = data.models[0]!.id;
    const msg = problemsOf(data);
    expect(msg).toContain('models[2]: id must match');
    expect(msg).toContain('silero-vad-v5: id is used by an earlier entry');
  });

  it('requires pin on-first-fetch and a url when sha256 is unknown, and paths inside the models dir', () => {
    const data = base();
    const file = (data.models[0]!.files as Record<string, unknown>[])[0]!;
    file.sha256 = null;
    file.size_bytes = null;
    file.path = '../etc/passwd';
    const msg = problemsOf(data);
    expect(msg).toContain('silero-vad-v5: files[0].pin must be "on-first-fetch" when sha256 is null');
    expect(msg).toContain('silero-vad-v5: files[0].url is required when sha256 is null');
    expect(msg).toContain('silero-vad-v5: files[0].path must stay inside the models dir');
  });

  it('checks tensor dims, versions and URLs', () => {
    const data = base();
    data.version = 2;
    (data.models[0]!.inputs as Record<string, unknown>[])[0]!.dims = [1, -3];
    (data.models[4]!.files as Record<string, unknown>[])[0]!.url = 'ftp://example.org/x.onnx';
    const msg = problemsOf(data);
    expect(msg).toContain('version must be 1 (got 2)');
    expect(msg).toContain('silero-vad-v5: inputs[0].dims must be an array of integers >= 0');
    expect(msg).toContain('whisper-tiny: files[0].url must be an http(s) URL');
  });

  it('rejects unreadable and non-JSON files naming the file', () => {
    expect(() => loadManifest('/nonexistent/manifest.json')).toThrow(
      /cannot read model manifest \/nonexistent/,
    );
  });
});
