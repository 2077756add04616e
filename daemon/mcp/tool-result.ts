/**
 * An MCP `tools/call` result as the value of a registry tool call (what `tool/<name>/result`
 * carries): the structured content when the server gives one, else its text parts; images, audio
 * and embedded resources by their type and MIME type only, never their bytes. Bounded: at most
 * MAX_PARTS parts and MAX_TEXT characters of text in all.
 */

/** Content parts kept from one result. */
const MAX_PARTS = 16;
/** Characters of text kept from one result, all parts together. */
const MAX_TEXT = 16 * 1024;

interface Part {
  readonly type: string;
  readonly text?: unknown;
  readonly mimeType?: unknown;
}

/** The fields of a `tools/call` result read here (the SDK's type, or an older server's answer). */
interface McpCallResult {
  readonly content?: unknown;
  readonly structuredContent?: unknown;
}

export function toolResult(result: object): { readonly value: unknown; readonly text: string } {
  const r = result as McpCallResult;
  const parts = (Array.isArray(r.content) ? (r.content as Part[]) : []).slice(0, MAX_PARTS);
  let budget = MAX_TEXT;
  const content = parts.map((p) => {
    if (p.type === 'text' && typeof p.text === 'string') {
      const text = p.text.slice(0, Math.max(0, budget));
      budget -= text.length;
      return { type: 'text', text };
    }
    return { type: String(p.type), ...(typeof p.mimeType === 'string' ? { mimeType: p.mimeType } : {}) };
  });
  const text = content.map((p) => ('text' in p ? p.text : '')).join('\n');
  const structured = r.structuredContent;
  const value = structured !== undefined && structured !== null ? structured : { content };
  return { value, text };
}
