/**
 * Types for node-record-lpcm16 1.x (CommonJS, ships none), covering what mic.ts uses. From its
 * index.js: `record(options)` spawns the recorder at once and returns a Recording; `recorder`
 * names a module under its recorders/ directory (sox, rec, arecord) and is resolved with
 * path.resolve, so an absolute path to a module returning `{ cmd, args, spawnOptions }` also works.
 */
declare module 'node-record-lpcm16' {
  import type { ChildProcess } from 'node:child_process';
  import type { Readable } from 'node:stream';

  export interface RecordOptions {
    /** Hz (default 16000). */
    sampleRate?: number;
    /** Default 1. */
    channels?: number;
    /** `sox` (default), `rec` or `arecord`. */
    recorder?: string;
    /** sox/rec: AUDIODEV; arecord: `-D`. */
    device?: string;
    /** `wav` (default) or `raw`. */
    audioType?: string;
    endOnSilence?: boolean;
    threshold?: number;
    silence?: string;
  }

  export interface Recording {
    /** The spawned recorder. */
    readonly process: ChildProcess;
    readonly cmd: string;
    readonly args: readonly string[];
    stream(): Readable;
    stop(): void;
    pause(): void;
    resume(): void;
  }

  const recorder: { record(options?: RecordOptions): Recording };
  export default recorder;
}
