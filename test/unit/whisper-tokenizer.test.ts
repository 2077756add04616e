import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isEdgeloomError } from '../../daemon/errors.js';
import { WhisperTokenizer } from '../../daemon/pipeline/stt/whisper/tokenizer.js';
import { REPO_ROOT } from '../helpers/tools.js';

const json: unknown = JSON.parse(
  readFileSync(join(REPO_ROOT, 'models', 'whisper-synthetic-tiny', 'tokenizer.json'), 'utf8'),
);

describe('WhisperTokenizer on the synthetic vocabulary', () => {
  const tok = new WhisperTokenizer(json);

  it('applies merges: known words become single tokens', () => {
    const ids = tok.encode(' hello from edgeloom');
    expect(ids.map((id) => tok.token(id))).toEqual(['Ġhello', 'Ġfrom', 'Ġedge', 'loom']);
    expect(tok.token(220)).toBe('Ġ'); // GPT-2 byte order: space is 220, as in Whisper
  });

  it('round-trips arbitrary unicode text through byte-level BPE', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 30 }), (s) => {
        expect(tok.decode(tok.encode(s))).toBe(s);
      }),
      { numRuns: 100 },
    );
  });

  it('skips special tokens when decoding', () => {
    const sot = tok.id('<|startoftranscript|>')!;
    const eot = tok.id('<|endoftext|>')!;
    expect(tok.isSpecial(sot)).toBe(true);
    expect(tok.decode([sot, ...tok.encode('héllo wörld'), eot])).toBe('héllo wörld');
  });

  it('rejects a tokenizer.json without a BPE model, naming the file', () => {
    let err: unknown;
    try {
      new WhisperTokenizer({ model: { type: 'Unigram' } }, '/x/tokenizer.json');
    } catch (e) {
      err = e;
    }
    expect(isEdgeloomError(err, 'E_MODEL_CORRUPT')).toBe(true);
    expect((err as Error).message).toContain('/x/tokenizer.json');
  });
});
