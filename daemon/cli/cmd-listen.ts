/**
 * `edgeloom listen [--seconds N]`: push-to-talk from the device's own shell, for a button wired to
 * a GPIO pin whose script runs it, or an owner at the console. It asks the running daemon through
 * its control socket to open the voice assistant's listening window, exactly as Home Assistant's
 * Listen button does over MQTT (`<base>/cmd/voice/listen`: the same command row and responder,
 * pipeline/wake/push-to-talk.ts). There is nothing to do without a running daemon.
 */
import { VOICE_LISTEN_MAX_S } from '../bus/rpc.js';
import { EdgeloomError, ErrorCode, isEdgeloomError } from '../errors.js';
import { bool, num, parse, str } from './args.js';
import type { Command } from './command.js';
import { cliStorage, viaDaemon } from './store-access.js';

const USAGE = `Usage: edgeloom listen [--seconds N] [--json] [--config FILE]

Open the voice assistant's listening window on the running daemon, as Home Assistant's Listen
button (cmd/voice/listen) does: what is said in the next N seconds is transcribed and answered
without the wake word. A script behind a button (a GPIO pin) can run it.

Options:
  --seconds N    how long to listen, 0 < N <= 300 (default: agents.voice.wake.window_s)
  --json         print {"listening": true, "until_ms": ...} instead of text
  --config FILE  configuration file (for storage.dir, where the control socket is)`;

export const listenCommand: Command = {
  name: 'listen',
  summary: "push-to-talk: open the voice assistant's listening window on the running daemon",
  usage: USAGE,
  async run(argv) {
    const p = parse(
      'listen',
      argv,
      { seconds: { type: 'string' }, json: { type: 'boolean' }, config: { type: 'string' } },
      false,
    );
    // The MQTT command's bound, checked before asking.
    const seconds = num(p, 'seconds', 'listen');
    if (seconds !== undefined && !(seconds > 0 && seconds <= VOICE_LISTEN_MAX_S)) {
      throw new EdgeloomError(
        ErrorCode.E_USAGE,
        `listen: --seconds must be in (0, ${VOICE_LISTEN_MAX_S}] (got ${seconds})`,
        {
          where: '--seconds',
        },
      );
    }
    let answer: { listening: true; until_ms: number };
    try {
      answer = (await viaDaemon(str(p, 'config'), {
        op: 'voice.listen',
        ...(seconds === undefined ? {} : { seconds }),
      })) as typeof answer;
    } catch (err) {
      // In wake mode `always` nothing opens windows: every utterance is heard already. In another
      // mode the same answer means the daemon has not started its voice stages yet: no hint.
      if (!isEdgeloomError(err, ErrorCode.E_CMD_NO_RESPONDER)) throw err;
      if (cliStorage(str(p, 'config')).ctx.config.agents.voice.wake.mode !== 'always') throw err;
      throw new EdgeloomError(
        ErrorCode.E_CMD_NO_RESPONDER,
        `${err.message}: push-to-talk needs agents.voice.wake.mode wake_word or push_to_talk ` +
          '(in always, every utterance is transcribed without it)',
        { where: 'listen', cause: err },
      );
    }
    if (bool(p, 'json')) process.stdout.write(`${JSON.stringify(answer)}\n`);
    else process.stdout.write(`listening until ${new Date(answer.until_ms).toISOString()}\n`);
    return 0;
  },
};
