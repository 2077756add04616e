/**
 * The CLI's side of the control socket: ask the running daemon, or learn that none is running
 * (then the command works on the store itself, which only a stopped daemon leaves unlocked).
 */
import { connect } from 'node:net';
import { EdgeloomError, ErrorCode, isErrorCode } from '../errors.js';
import type { ControlAnswer, ControlRequest } from './protocol.js';

/** Returned when no daemon serves the socket (no file, or nobody listening). */
export const NO_DAEMON = Symbol('no daemon');

/**
 * Send one request. Resolves to the result, or NO_DAEMON when nothing listens; rejects with the
 * daemon's error (its code kept) or `E_CONTROL_TIMEOUT`.
 */
export function controlRequest(
  path: string,
  request: ControlRequest,
  timeoutMs = 60_000,
): Promise<unknown | typeof NO_DAEMON> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let data = '';
    let settled = false;
    const done = (f: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      f();
    };
    const timer = setTimeout(
      () =>
        done(() =>
          reject(new EdgeloomError(ErrorCode.E_CONTROL_TIMEOUT, `no answer from the daemon on ${path}`)),
        ),
      timeoutMs,
    );
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => {
      data += chunk;
    });
    socket.on('end', () => {
      done(() => {
        let answer: ControlAnswer;
        try {
          answer = JSON.parse(data.trim()) as ControlAnswer;
        } catch {
          reject(
            new EdgeloomError(ErrorCode.E_CONTROL_BAD_ANSWER, `the daemon sent no valid answer on ${path}`),
          );
          return;
        }
        if (answer.ok) resolve(answer.result);
        else {
          // The daemon answers with its own codes; anything else is not a valid answer.
          const code = isErrorCode(answer.error?.code) ? answer.error.code : ErrorCode.E_CONTROL_BAD_ANSWER;
          reject(new EdgeloomError(code, answer.error?.message ?? 'no message', { where: 'daemon' }));
        }
      });
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      done(() =>
        err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
          ? resolve(NO_DAEMON)
          : reject(
              new EdgeloomError(
                ErrorCode.E_CONTROL_CONNECT,
                `cannot reach the daemon on ${path}: ${err.message}`,
              ),
            ),
      );
    });
  });
}
