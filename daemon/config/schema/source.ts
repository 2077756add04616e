/** `source`: live devices or a recorded fixture. */
import { bool, enm, num, obj, str } from './builder.js';

export const sourceSchema = obj('Where sensor data comes from: live devices or a recorded fixture.', {
  mode: enm({
    description: 'live reads the devices in `sensors`; replay plays a recorded fixture on the virtual clock.',
    values: ['live', 'replay'],
    default: 'replay',
  }),
  replay: obj('Fixture replay.', {
    fixture: str({
      description: 'Fixture directory (relative paths resolve against the working directory).',
      default: 'fixtures/demo',
      minLength: 1,
    }),
    speed: num({
      description: 'Playback speed factor; 1 = real time, 0 = as fast as possible.',
      default: 1,
      minimum: 0,
    }),
    loop: bool({ description: 'Start over at the end of the fixture.', default: true }),
  }),
});
