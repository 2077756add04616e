/**
 * Commands load when run: `edgeloom --version` and `--help` load no native addon (onnxruntime,
 * sharp, LevelDB, serialport each map a `.node` shared object). The compiled CLI runs with a
 * preload that, at exit, lists the shared objects the process mapped (process.report).
 */
import { describe, expect, it } from 'vitest';
import { commands } from '../../daemon/cli/commands.js';
import { runCli } from '../helpers/cli-process.js';

const REPORT_ADDONS = `data:text/javascript,process.on('exit',()=>{const so=process.report.getReport().sharedObjects.filter((f)=>f.endsWith('.node'));process.stderr.write('ADDONS '+JSON.stringify(so)+'\\n')})`;

async function addonsOf(args: string[]): Promise<string[]> {
  const r = await runCli(args, { nodeArgs: ['--import', REPORT_ADDONS] });
  const line = r.stderr.split('\n').find((l) => l.startsWith('ADDONS '));
  if (line === undefined) throw new Error(`no addon report\n${r.stderr}`);
  return JSON.parse(line.slice('ADDONS '.length)) as string[];
}

describe('lazy commands', () => {
  it('--version and --help map no native addon', async () => {
    expect(await addonsOf(['--version'])).toEqual([]);
    expect(await addonsOf(['--help'])).toEqual([]);
  });

  it('the report sees the addons of a command that loads the daemon (the check can fail)', async () => {
    expect((await addonsOf(['run', '--help'])).length).toBeGreaterThan(0);
  });

  it('every entry names and summarises the command it loads', async () => {
    for (const entry of commands) {
      const command = await entry.load();
      expect({ name: command.name, summary: command.summary }).toEqual({
        name: entry.name,
        summary: entry.summary,
      });
    }
  });
});
