import { auditCommand } from './cmd-audit.js';
import { doctorCommand } from './cmd-doctor.js';
import { fixtureCommand } from './cmd-fixture.js';
import { forgetCommand } from './cmd-forget.js';
import { installServiceCommand } from './cmd-install-service.js';
import { modelsCommand } from './cmd-models.js';
import { privacyCommand } from './cmd-privacy.js';
import { recordCommand } from './cmd-record.js';
import { replayCommand } from './cmd-replay.js';
import { runCommand } from './cmd-run.js';
import type { Command } from './command.js';

/** Every sub-command, in the order `edgeloom --help` lists them. */
export const commands: readonly Command[] = [
  runCommand,
  replayCommand,
  recordCommand,
  fixtureCommand,
  modelsCommand,
  privacyCommand,
  auditCommand,
  forgetCommand,
  doctorCommand,
  installServiceCommand,
];
