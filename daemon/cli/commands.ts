import type { Command } from './command.js';

/**
 * A sub-command as `edgeloom --help` lists it, and how to load it. Commands are imported only when
 * run: the daemon's modules pull in native addons (onnxruntime, sharp, LevelDB, serialport), which
 * `edgeloom --version` or `--help` must not pay for. test/integration/cli-lazy.test.ts checks
 * that each entry's name and summary are those of the command it loads.
 */
export interface CommandEntry {
  readonly name: string;
  /** One line for `edgeloom --help`. */
  readonly summary: string;
  load(): Promise<Command>;
}

/** Every sub-command, in the order `edgeloom --help` lists them. */
export const commands: readonly CommandEntry[] = [
  {
    name: 'run',
    summary: 'run the daemon (embedded demo by default)',
    load: async () => (await import('./cmd-run.js')).runCommand,
  },
  {
    name: 'replay',
    summary: 'replay a recorded fixture through the whole pipeline',
    load: async () => (await import('./cmd-replay.js')).replayCommand,
  },
  {
    name: 'record',
    summary: 'record live sensors into a fixture',
    load: async () => (await import('./cmd-record.js')).recordCommand,
  },
  {
    name: 'fixture',
    summary: 'build fixtures from ordinary files (fixture make)',
    load: async () => (await import('./cmd-fixture.js')).fixtureCommand,
  },
  {
    name: 'models',
    summary: 'list, verify and fetch ONNX models (manifest, checksums, resumable downloads)',
    load: async () => (await import('./cmd-models.js')).modelsCommand,
  },
  {
    name: 'privacy',
    summary: 'show or change the privacy tiers (persisted, audited)',
    load: async () => (await import('./cmd-privacy.js')).privacyCommand,
  },
  {
    name: 'audit',
    summary: 'print or verify the audit log',
    load: async () => (await import('./cmd-audit.js')).auditCommand,
  },
  {
    name: 'forget',
    summary: 'delete stored personal data (agent memory, queued messages, audit records)',
    load: async () => (await import('./cmd-forget.js')).forgetCommand,
  },
  {
    name: 'listen',
    summary: "push-to-talk: open the voice assistant's listening window on the running daemon",
    load: async () => (await import('./cmd-listen.js')).listenCommand,
  },
  {
    name: 'sensor',
    summary: 'pause or resume a sensor of the running daemon (audited, bounded)',
    load: async () => (await import('./cmd-sensor.js')).sensorCommand,
  },
  {
    name: 'mcp',
    summary: "serve MCP clients on stdio: the daemon's tools and current state",
    load: async () => (await import('./cmd-mcp.js')).mcpCommand,
  },
  {
    name: 'doctor',
    summary: 'check devices, programs, models, broker and resources against the configuration',
    load: async () => (await import('./cmd-doctor.js')).doctorCommand,
  },
  {
    name: 'install-service',
    summary: 'install the systemd unit and /etc/edgeloom/config.yaml',
    load: async () => (await import('./cmd-install-service.js')).installServiceCommand,
  },
];
