/**
 * Text from outside the device (a cloud answer, an MQTT payload) made safe for a log line or a
 * one-line display: control characters (C0, DEL, C1), line and paragraph separators and the
 * bidirectional overrides become a space, and the result is cut to `maxChars`. pino escapes C0
 * inside its JSON, but not C1 (U+009B is a terminal CSI) nor U+2028, and a journal viewer prints
 * them raw; a bidi override makes a line read differently from what it holds (CVE-2021-42574).
 */
const UNPRINTABLE = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

export function printable(text: string, maxChars = 1000): string {
  const clean = text.replace(UNPRINTABLE, ' ');
  return clean.length > maxChars ? `${clean.slice(0, maxChars)}…` : clean;
}
