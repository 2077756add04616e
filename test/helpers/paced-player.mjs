// A stand-in sound device for the TTS tests (none exists on a test machine): a "player" that
// takes audio on stdin at the pace a real one would (aplay blocks on the device: 22050 Hz, 16-bit
// mono = 44100 bytes/s, espeak-ng --stdout's format), writing what it got to the file $2. It writes
// its pid to "$2.pid" first, so a test can tell it was killed.
// Usage: node paced-player.mjs <bytes-per-second> <out-file>
import { createWriteStream, writeFileSync } from 'node:fs';

const bytesPerSecond = Number(process.argv[2]);
const out = process.argv[3];
writeFileSync(`${out}.pid`, String(process.pid));
const file = createWriteStream(out);
process.stdin.on('data', (chunk) => {
  file.write(chunk);
  process.stdin.pause();
  setTimeout(() => process.stdin.resume(), (chunk.length / bytesPerSecond) * 1000);
});
process.stdin.on('end', () => file.end());
