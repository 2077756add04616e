/**
 * The openWakeWord models in the repository's manifest: pinned to the v0.5.1 release assets
 * (sha256 and size as published), fetched from that release, with the redirect GitHub's release
 * downloads make allowed and nothing else; their licences stated per entry.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { redirectAllowed } from '../../daemon/models/fetch.js';
import { findEntry, loadManifest } from '../../daemon/models/manifest.js';
import { REPO_ROOT } from '../helpers/tools.js';

const RELEASE = 'https://github.com/dscripka/openWakeWord/releases/download/v0.5.1/';

describe('openWakeWord in the manifest', () => {
  const manifest = loadManifest(join(REPO_ROOT, 'models/manifest.json'));

  it('pins the three v0.5.1 files by sha256 and size, for `models fetch`', () => {
    const features = findEntry(manifest, 'openwakeword-features');
    const word = findEntry(manifest, 'openwakeword-hey-jarvis');
    expect([...features.files, ...word.files].map((f) => [f.path, f.sha256, f.size_bytes, f.url])).toEqual([
      [
        'openwakeword/melspectrogram.onnx',
        'ba2b0e0f8b7b875369a2c89cb13360ff53bac436f2895cced9f479fa65eb176f',
        1_087_958,
        `${RELEASE}melspectrogram.onnx`,
      ],
      [
        'openwakeword/embedding_model.onnx',
        '70d164290c1d095d1d4ee149bc5e00543250a7316b59f31d056cff7bd3075c1f',
        1_326_578,
        `${RELEASE}embedding_model.onnx`,
      ],
      [
        'openwakeword/hey_jarvis_v0.1.onnx',
        '94a13cfe60075b132f6a472e7e462e8123ee70861bc3fb58434a73712ee0d2cb',
        1_271_370,
        `${RELEASE}hey_jarvis_v0.1.onnx`,
      ],
    ]);
    expect(features).toMatchObject({
      kind: 'wake-features',
      format: 'openwakeword-features',
      bundled: false,
    });
    expect(word).toMatchObject({ kind: 'wake-word', format: 'openwakeword', bundled: false });
    // The word models are not Apache-2.0 (openWakeWord README, License).
    expect(features.licence).toBe('Apache-2.0');
    expect(word.licence).toBe('CC-BY-NC-SA-4.0');
  });

  it("follows GitHub's release redirect to its asset host, and no other origin", () => {
    const word = findEntry(manifest, 'openwakeword-hey-jarvis');
    const from = new URL(word.files[0]!.url!);
    const allowed = word.redirect_origins ?? [];
    expect(redirectAllowed(from, new URL('https://release-assets.githubusercontent.com/x'), allowed)).toBe(
      true,
    );
    expect(redirectAllowed(from, new URL('https://objects.githubusercontent.com/x'), allowed)).toBe(true);
    expect(redirectAllowed(from, new URL('https://evil.example.com/x'), allowed)).toBe(false);
  });
});
