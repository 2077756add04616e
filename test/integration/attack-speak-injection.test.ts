/**
 * Attack: option injection through the `speak` tool. An MQTT client on the broker (here
 * `mosquitto_pub`, the tool an attacker on the LAN would use) sends
 * `cmd/tool/speak {"text":"--phonout=FILE"}`. When the text is an argv element, espeak-ng reads
 * it as its `--phonout` option and truncates FILE — the daemon's own LevelDB `CURRENT` file, so
 * the next start fails. The daemon here is the compiled CLI (`run`) with the default
 * `agents.voice.tts.command` (a real espeak-ng, run by the TTS actuator the speak tool queues
 * for), against a real Mosquitto; the test waits for each utterance's end on `voice/speaking`, so
 * espeak-ng has read the text before the files are checked.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../daemon/storage/store.js';
import type { CliChild } from '../helpers/cli-process.js';
import {
  BASE,
  DEMO,
  replayFinished,
  startDaemon,
  stopCleanly,
  writeDaemonConfig,
} from '../helpers/daemon-mqtt.js';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { Subscriber, waitFor } from '../helpers/mqtt.js';
import { toolsAvailable } from '../helpers/tools.js';

const dir = mkdtempSync(join(tmpdir(), 'edgeloom-attack-speak-'));
let broker: Mosquitto | undefined;
let daemon: CliChild | undefined;
afterAll(async () => {
  if (daemon !== undefined && daemon.process.exitCode === null) daemon.process.kill('SIGKILL');
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe.runIf(mosquittoAvailable() && toolsAvailable('espeak-ng', 'mosquitto_pub'))(
  'speak over MQTT: the text never reaches espeak-ng as an option',
  () => {
    it('{"text":"--phonout=FILE"} writes no FILE and the store still opens afterwards', async () => {
      broker = await Mosquitto.start();
      const stateDir = join(dir, 'state');
      const config = writeDaemonConfig({
        dir,
        brokerUrl: `mqtt://127.0.0.1:${broker.port}`,
        fixture: DEMO,
        speed: 0,
        storageDir: stateDir,
      });
      daemon = startDaemon(config);
      await replayFinished(daemon);
      const results = await Subscriber.connect(`mqtt://127.0.0.1:${broker.port}`, [
        `${BASE}/cmd/result`,
        `${BASE}/voice/speaking`,
      ]);

      const current = join(stateDir, 'CURRENT');
      const before = readFileSync(current);
      expect(before.length).toBeGreaterThan(0);
      const canary = join(dir, 'pwned');
      const attack = (id: string, file: string): void => {
        const r = spawnSync(
          'mosquitto_pub',
          [
            ...['-h', '127.0.0.1', '-p', String(broker!.port), '-q', '1'],
            ...['-t', `${BASE}/cmd/tool/speak`, '-m', JSON.stringify({ id, text: `--phonout=${file}` })],
          ],
          { encoding: 'utf8' },
        );
        expect(r.status, r.stderr).toBe(0);
      };
      attack('canary', canary);
      attack('current', current);
      const answered = (id: string) => () =>
        results.on(`${BASE}/cmd/result`).some((m) => (m.payload as { id?: string }).id === id);
      await waitFor(answered('canary'), 'the result of the first speak command', 20_000);
      await waitFor(answered('current'), 'the result of the second speak command', 20_000);
      // Each command's utterance, played to its end by the actuator (whatever the sound device did).
      const ids = ['canary', 'current'].map((id) => {
        const reply = results.on(`${BASE}/cmd/result`).find((m) => (m.payload as { id?: string }).id === id);
        return /"utteranceId":"([^"]+)"/.exec(JSON.stringify(reply?.payload))?.[1];
      });
      expect(ids.every((id) => typeof id === 'string')).toBe(true);
      const ended = (id: string | undefined) => () =>
        results
          .on(`${BASE}/voice/speaking`)
          .some(
            (m) =>
              (m.payload as { state: string; utterance_id: string }).state === 'end' &&
              (m.payload as { utterance_id: string }).utterance_id === id,
          );
      await waitFor(ended(ids[0]), 'the end of the first utterance', 20_000);
      await waitFor(ended(ids[1]), 'the end of the second utterance', 20_000);
      await results.close();

      // Whatever espeak-ng made of the text (it speaks it), no file was created or truncated.
      expect(existsSync(canary)).toBe(false);
      expect(readFileSync(current)).toEqual(before);

      await stopCleanly(daemon);
      // The next start opens the store (it failed on a truncated CURRENT).
      const store = await openStore(stateDir);
      await store.close();
    }, 90_000);
  },
);
