/**
 * What each cloud endpoint's request may contain, field by field (the egress guard's first line,
 * egress.ts). A field is:
 *
 * - `meta`: written by the device, about the request (model name, stream flag, roles, the tool
 *   definitions the registry generates); may leave whenever anything may;
 * - `derived`: taken from sensor data but not the data itself (transcript text, face boxes as
 *   text); leaves where the tier allows derived data;
 * - `raw`: the sensor data (an audio file, an image URL); leaves only under `public`.
 *
 * A request with a field its endpoint does not declare is refused whatever the tier: nothing
 * leaves that was not named here, so a new field cannot slip out by accident. Endpoints are
 * matched on the end of the URL path (the base URL may carry any prefix, e.g. `/v1`).
 */
import { EdgeloomError, ErrorCode } from '../errors.js';

export type FieldClass = 'meta' | 'derived' | 'raw';

interface JsonShape {
  readonly kind: 'json';
  /** Leaf paths: object keys joined by `.`, `[]` for an array element. */
  readonly fields: Readonly<Record<string, FieldClass>>;
  /** Paths whose whole subtree is of one class (device-authored structures). */
  readonly subtrees: Readonly<Record<string, FieldClass>>;
}

interface MultipartShape {
  readonly kind: 'multipart';
  /** Part name → class. */
  readonly parts: Readonly<Record<string, FieldClass>>;
}

/** The OpenAI-compatible endpoints CloudClient calls (cloud-client.ts), and nothing else. */
export const EGRESS_SHAPES: Readonly<Record<string, JsonShape | MultipartShape>> = {
  '/chat/completions': {
    kind: 'json',
    fields: {
      model: 'meta',
      stream: 'meta',
      'response_format.type': 'meta',
      'messages[].role': 'meta',
      'messages[].tool_call_id': 'meta',
      'messages[].content': 'derived',
      'messages[].content[].type': 'meta',
      'messages[].content[].text': 'derived',
      'messages[].content[].image_url.url': 'raw',
      // The conversation loop sends the model's own tool calls back with their results (#14).
      'messages[].tool_calls[].id': 'meta',
      'messages[].tool_calls[].type': 'meta',
      'messages[].tool_calls[].function.name': 'meta',
      'messages[].tool_calls[].function.arguments': 'derived',
    },
    subtrees: { tools: 'meta' },
  },
  '/audio/transcriptions': {
    kind: 'multipart',
    parts: { file: 'raw', model: 'meta', response_format: 'meta', language: 'meta' },
  },
};

/** One value the request carries, with the class its field is declared as. */
export interface DeclaredValue {
  readonly path: string;
  readonly cls: FieldClass;
  /** The value as text (a file part: undefined, it is raw by declaration). */
  readonly text: string | undefined;
}

const refuse = (message: string): EdgeloomError =>
  new EdgeloomError(ErrorCode.E_PRIVACY_VIOLATION, message, { where: 'router.egress' });

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Every value in the body with its declared class. Throws `E_PRIVACY_VIOLATION` for an endpoint
 * without a shape, a body that is not what the shape says, or a field the shape does not declare.
 */
export function declaredValues(url: URL, contentType: string, body: Buffer): DeclaredValue[] {
  const endpoint = Object.keys(EGRESS_SHAPES).find((p) => url.pathname.endsWith(p));
  if (endpoint === undefined) throw refuse(`no declared request shape for ${url.pathname}`);
  const shape = EGRESS_SHAPES[endpoint]!;
  return shape.kind === 'json' ? jsonValues(shape, body) : multipartValues(shape, contentType, body);
}

function jsonValues(shape: JsonShape, body: Buffer): DeclaredValue[] {
  let data: unknown;
  try {
    data = JSON.parse(utf8.decode(body));
  } catch {
    throw refuse('request body is not the JSON its endpoint declares');
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data))
    throw refuse('request body is not a JSON object');
  const out: DeclaredValue[] = [];
  const walk = (value: unknown, path: string, inherited: FieldClass | undefined): void => {
    const subtree = inherited ?? shape.subtrees[path];
    if (Array.isArray(value)) {
      for (const v of value) walk(v, `${path}[]`, subtree);
      return;
    }
    if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(v, path === '' ? k : `${path}.${k}`, subtree);
      return;
    }
    const cls = subtree ?? shape.fields[path];
    if (cls === undefined) throw refuse(`request field ${path} is not declared for this endpoint`);
    out.push({ path, cls, text: typeof value === 'string' ? value : String(value) });
  };
  walk(data, '', undefined);
  return out;
}

/** RFC 7578 form data: parts between `--boundary` lines, each named by Content-Disposition. */
function multipartValues(shape: MultipartShape, contentType: string, body: Buffer): DeclaredValue[] {
  const boundary = /boundary=("?)([^";]+)\1/i.exec(contentType)?.[2];
  if (boundary === undefined) throw refuse('multipart request without a boundary');
  const delimiter = Buffer.from(`--${boundary}`);
  const out: DeclaredValue[] = [];
  let at = body.indexOf(delimiter);
  if (at !== 0) throw refuse('multipart body does not start with its boundary');
  for (;;) {
    const start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString('latin1') === '--') break; // the closing delimiter
    const next = body.indexOf(delimiter, start);
    if (next < 0) throw refuse('multipart body is not closed');
    const part = body.subarray(start + 2, next - 2); // after CRLF, before the CRLF ahead of `--`
    const headEnd = part.indexOf('\r\n\r\n');
    if (headEnd < 0) throw refuse('multipart part without headers');
    const head = part.subarray(0, headEnd).toString('latin1');
    const name = /content-disposition:[^\r\n]*\bname="([^"]*)"/i.exec(head)?.[1];
    const cls = name === undefined ? undefined : shape.parts[name];
    if (name === undefined || cls === undefined)
      throw refuse(`request part ${name ?? '(unnamed)'} is not declared for this endpoint`);
    const value = part.subarray(headEnd + 4);
    let text: string | undefined;
    if (cls !== 'raw') {
      try {
        text = utf8.decode(value);
      } catch {
        throw refuse(`request part ${name} is not text`);
      }
    }
    out.push({ path: name, cls, text });
    at = next;
  }
  return out;
}
