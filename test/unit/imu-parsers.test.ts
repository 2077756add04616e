import { describe, expect, it } from 'vitest';
import { createImuParser } from '../../daemon/sensors/imu/parser.js';
import { CsvImuParser } from '../../daemon/sensors/imu/parsers/csv.js';
import { JsonlImuParser } from '../../daemon/sensors/imu/parsers/jsonl.js';
import { LineFramer } from '../../daemon/sensors/imu/parsers/line-framer.js';
import { scanEnd, scanNumber } from '../../daemon/sensors/imu/parsers/number.js';
import type { ImuParser, ImuReading } from '../../daemon/sensors/imu/parsers/types.js';

const enc = (s: string): Buffer => Buffer.from(s, 'latin1');

function feed(parser: ImuParser, ...chunks: string[]): ImuReading[] {
  const out: ImuReading[] = [];
  for (const c of chunks) parser.push(enc(c), (r) => out.push(r));
  return out;
}

function checkAccounting(parser: ImuParser): void {
  const c = parser.counters();
  expect(c.bytesAccepted + c.bytesDiscarded + c.pendingBytes).toBe(c.bytesIn);
}

describe('scanNumber', () => {
  it.each([
    '0',
    '-0',
    '1',
    '-1.5',
    '3.14159',
    '1e3',
    '-2.5E-3',
    '+7',
    '.5',
    '5.',
    '123456789012345678',
    '0.1234567890123456789',
    '1e-30',
    '9.80665',
    '1e400',
  ])('equals Number(%s)', (text) => {
    const buf = enc(text);
    const v = scanNumber(buf, 0, buf.length);
    expect(Object.is(v, Number(text))).toBe(true);
    expect(scanEnd).toBe(buf.length);
  });

  it.each(['', '-', '.', 'e5', 'abc', '1e'])('rejects %j', (text) => {
    const buf = enc(text);
    const v = scanNumber(buf, 0, buf.length);
    expect(Number.isNaN(v) || scanEnd !== buf.length).toBe(true);
  });

  it('applies JSON grammar when asked', () => {
    for (const bad of ['+1', '.5', '01', '1.', '-']) {
      const buf = enc(bad);
      const v = scanNumber(buf, 0, buf.length, true);
      expect(Number.isNaN(v) || scanEnd !== buf.length).toBe(true);
    }
  });
});

describe('LineFramer', () => {
  it('splits lines, strips \\r, carries partial lines across chunks', () => {
    const f = new LineFramer(16);
    const lines: string[] = [];
    const on = (b: Uint8Array, s: number, e: number): void => {
      lines.push(Buffer.from(b.subarray(s, e)).toString());
    };
    f.push(enc('ab\r\ncd'), on);
    f.push(enc('ef\r'), on);
    f.push(enc('\ngh\n'), on);
    expect(lines).toEqual(['ab', 'cdef', 'gh']);
    expect(f.pendingBytes).toBe(0);
  });

  it('discards an overlong line and resyncs at the next newline', () => {
    const f = new LineFramer(8);
    const lines: string[] = [];
    const on = (b: Uint8Array, s: number, e: number): void => {
      lines.push(Buffer.from(b.subarray(s, e)).toString());
    };
    f.push(enc('12345678\n123456789'), on);
    f.push(enc('0123\nok\n'), on);
    f.push(enc('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nok2\n'), on);
    expect(lines).toEqual(['12345678', 'ok', 'ok2']);
    expect(f.overlong).toBe(2);
    expect(f.bytesDiscarded).toBe('1234567890123\n'.length + 37);
  });

  it('accepts a line of exactly maxLineBytes with \\r\\n split across chunks', () => {
    const f = new LineFramer(4);
    const lines: string[] = [];
    f.push(enc('abcd\r'), (b, s, e) => lines.push(Buffer.from(b.subarray(s, e)).toString()));
    f.push(enc('\n'), (b, s, e) => lines.push(Buffer.from(b.subarray(s, e)).toString()));
    expect(lines).toEqual(['abcd']);
    expect(f.overlong).toBe(0);
  });
});

describe('CSV parser', () => {
  it('parses the default 6, 7, 9 and 10 column layouts', () => {
    const p = new CsvImuParser();
    const r = feed(
      p,
      '0.1,0.2,1.0,10,20,30\n',
      '0.1,0.2,1.0,10,20,30,1234.5\r\n',
      '0.1,0.2,1.0,10,20,30,40,41,42\n',
      ' 0.1 , 0.2,1.0,10,20,30,40,41,42,99\n',
    );
    expect(r).toHaveLength(4);
    expect(r[0]).toMatchObject({ ax: 0.1, ay: 0.2, az: 1, gx: 10, gy: 20, gz: 30 });
    expect(r[0]!.deviceTsMs).toBeUndefined();
    expect(r[0]!.mx).toBeUndefined();
    expect(r[1]!.deviceTsMs).toBe(1234.5);
    expect(r[2]).toMatchObject({ mx: 40, my: 41, mz: 42 });
    expect(r[2]!.deviceTsMs).toBeUndefined();
    expect(r[3]).toMatchObject({ ax: 0.1, mx: 40, deviceTsMs: 99 });
    expect(p.counters().ok).toBe(4);
    checkAccounting(p);
  });

  it('converts m/s² and rad/s to g and deg/s', () => {
    const p = new CsvImuParser({ units: { accel: 'm_s2', gyro: 'rad_s' } });
    const [r] = feed(p, '9.80665,0,-19.6133,3.141592653589793,0,1\n');
    expect(r!.ax).toBeCloseTo(1, 12);
    expect(r!.az).toBeCloseTo(-2, 12);
    expect(r!.gx).toBeCloseTo(180, 9);
    expect(r!.gz).toBeCloseTo(57.29577951308232, 9);
  });

  it('lets a header row reorder the columns', () => {
    const p = new CsvImuParser();
    const r = feed(p, 't_ms,gx,gy,gz,ax,ay,az,temp\n', '500,1,2,3,0.5,0.25,1,36.6\n');
    expect(r).toEqual([
      {
        ax: 0.5,
        ay: 0.25,
        az: 1,
        gx: 1,
        gy: 2,
        gz: 3,
        mx: undefined,
        my: undefined,
        mz: undefined,
        deviceTsMs: 500,
      },
    ]);
    expect(p.counters().skipped).toBe(1);
    // After the header, a line with another field count is bad, not reinterpreted.
    feed(p, '0.1,0.2,1.0,10,20,30\n');
    expect(p.counters().bad.column_count).toBe(1);
  });

  it('accepts a configured column order and a t_us header', () => {
    const p = new CsvImuParser({ columns: ['t', 'ax', 'ay', 'az', 'gx', 'gy', 'gz'] });
    expect(feed(p, '7,1,2,3,4,5,6\n')[0]).toMatchObject({ deviceTsMs: 7, ax: 1, gz: 6 });
    const q = new CsvImuParser();
    expect(feed(q, 'ts_us,ax,ay,az,gx,gy,gz\n', '2500,1,2,3,4,5,6\n')[0]!.deviceTsMs).toBe(2.5);
  });

  it('counts bad lines by reason and keeps going', () => {
    const p = new CsvImuParser();
    const r = feed(
      p,
      '1,2,3\n',
      '1,2,3,4,5,x\n',
      '1,2,3,4,5,NaN\n',
      '1,2,3,4,5,1e999\n',
      'foo,bar\n',
      '# a comment\n',
      '\n',
      '1,2,3,4,5,6\n',
    );
    expect(r).toHaveLength(1);
    const c = p.counters();
    expect(c.bad.column_count).toBe(1);
    expect(c.bad.not_a_number).toBe(3);
    expect(c.bad.bad_header).toBe(1);
    expect(c.skipped).toBe(2);
    expect(c.ok).toBe(1);
    checkAccounting(p);
  });

  it('never throws on a line with an embedded NUL or binary bytes', () => {
    const p = new CsvImuParser();
    const r = feed(p, '\x00\xff\xfe,1,2\n', '1,2,3,4,5,6\n');
    expect(r).toHaveLength(1);
    checkAccounting(p);
  });
});

describe('JSON-lines parser', () => {
  it('parses the flat shape on the fast path', () => {
    const p = new JsonlImuParser();
    const r = feed(p, '{"ax":0.1,"ay":-0.2,"az":1,"gx":1.5,"gy":0,"gz":-3,"t_ms":1000}\n');
    expect(r[0]).toMatchObject({ ax: 0.1, ay: -0.2, az: 1, gx: 1.5, gy: 0, gz: -3, deviceTsMs: 1000 });
    expect(p.fastPathLines).toBe(1);
    expect(p.slowPathLines).toBe(0);
  });

  it('parses the nested shape, with whitespace, and the magnetometer', () => {
    const p = new JsonlImuParser();
    const r = feed(p, '{ "accel": [0, 0, 1], "gyro": [1, 2, 3], "mag": [20, -5, 40], "t": 12 }\r\n');
    expect(r[0]).toEqual({
      ax: 0,
      ay: 0,
      az: 1,
      gx: 1,
      gy: 2,
      gz: 3,
      mx: 20,
      my: -5,
      mz: 40,
      deviceTsMs: 12,
    });
    expect(p.fastPathLines).toBe(1);
  });

  it('falls back to JSON.parse for unknown keys and gives the same values', () => {
    const p = new JsonlImuParser();
    const r = feed(p, '{"id":"imu0","ax":0.1,"ay":-0.2,"az":1,"gx":1.5,"gy":0,"gz":-3,"ok":true}\n');
    expect(r[0]).toMatchObject({ ax: 0.1, ay: -0.2, az: 1, gx: 1.5, gy: 0, gz: -3 });
    expect(r[0]!.deviceTsMs).toBeUndefined();
    expect(p.slowPathLines).toBe(1);
  });

  it('converts units', () => {
    const p = new JsonlImuParser({ units: { accel: 'm_s2', gyro: 'rad_s' } });
    const [r] = feed(p, '{"accel":[0,0,9.80665],"gyro":[0,0,1.5707963267948966]}\n');
    expect(r!.az).toBeCloseTo(1, 12);
    expect(r!.gz).toBeCloseTo(90, 9);
  });

  it('counts bad lines by reason', () => {
    const p = new JsonlImuParser();
    const r = feed(
      p,
      '{"ax":1,"ay":2\n',
      '[1,2,3]\n',
      '{"ax":1,"ay":2,"az":3}\n',
      '{"ax":"1","ay":2,"az":3,"gx":4,"gy":5,"gz":6}\n',
      '{"accel":[1,2],"gyro":[1,2,3]}\n',
      '{"accel":[1,2,3],"gyro":[1,2,3]}\n',
    );
    expect(r).toHaveLength(1);
    const c = p.counters();
    expect(c.bad.bad_json).toBe(2);
    expect(c.bad.missing_field).toBe(2);
    expect(c.bad.not_a_number).toBe(1);
    checkAccounting(p);
  });

  it('is selected by the factory', () => {
    expect(createImuParser({ format: 'jsonl' })).toBeInstanceOf(JsonlImuParser);
    expect(() => createImuParser({ format: 'xml' as 'csv' })).toThrow(/unknown IMU wire format/);
  });
});

describe('text parsers split across chunks', () => {
  const csv = '0.1,0.2,1.0,10,20,30,5\r\nbad,line\n0.3,0.4,1.5,11,21,31,6\n';
  const jsonl =
    '{"ax":0.1,"ay":0.2,"az":1,"gx":10,"gy":20,"gz":30,"t":5}\n{"accel":[0.3,0.4,1.5],"gyro":[11,21,31],"t":6}\n';
  it.each([
    ['csv', csv],
    ['jsonl', jsonl],
  ] as const)('%s gives the same readings at every split offset', (format, text) => {
    const whole = createImuParser({ format });
    const expected = feed(whole, text);
    expect(expected).toHaveLength(2);
    for (let cut = 0; cut <= text.length; cut++) {
      const p = createImuParser({ format });
      expect(feed(p, text.slice(0, cut), text.slice(cut))).toEqual(expected);
      expect(p.counters()).toEqual(whole.counters());
    }
  });
});
