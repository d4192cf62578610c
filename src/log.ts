/**
 * The one operator log of the project: one JSON object per line on the console. The message is
 * a constant chosen by the code; everything that came from a caller goes into `fields`, where
 * JSON escapes CR, LF and every other control character, so no input can forge a line.
 */
export type LogLevel = 'info' | 'warn' | 'error';

export type LogFields = Record<string, unknown>;

export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** An Error as plain fields (JSON.stringify drops an Error's own properties). */
export function errorFields(err: unknown): LogFields {
  if (err instanceof Error) return { error: { name: err.name, message: err.message, stack: err.stack } };
  return { error: String(err) };
}

/** One log line as it is written: `level`, `source`, `msg`, then the fields. Pure, for tests. */
export function formatLogLine(level: LogLevel, message: string, fields: LogFields = {}): string {
  return JSON.stringify({ level, source: 'mcp-auth-edge', msg: message, ...fields });
}

const write: Record<LogLevel, (line: string) => void> = {
  info: (line) => console.log(line),
  warn: (line) => console.warn(line),
  error: (line) => console.error(line),
};

export const log: Logger = {
  info: (message, fields) => write.info(formatLogLine('info', message, fields)),
  warn: (message, fields) => write.warn(formatLogLine('warn', message, fields)),
  error: (message, fields) => write.error(formatLogLine('error', message, fields)),
};
