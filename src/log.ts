/**
 * The one operator log of the project. Every line goes to the `logger` option of the instance
 * that writes it (`createMcpAuth`, `requireMcpAuth`, the verifier); by default one JSON object
 * per line on the console. The message is a constant chosen by the code; everything that came
 * from a caller goes into `fields`, where JSON escapes CR, LF and every other control
 * character, so no input can forge a line.
 */
export type LogLevel = 'info' | 'warn' | 'error';

export type LogFields = Record<string, unknown>;

/** Receives every line the library writes: its level, a constant message and the fields. */
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

/** The default logger: one JSON line per call on the console (`formatLogLine`). */
export const consoleLogger: Logger = {
  info: (message, fields) => write.info(formatLogLine('info', message, fields)),
  warn: (message, fields) => write.warn(formatLogLine('warn', message, fields)),
  error: (message, fields) => write.error(formatLogLine('error', message, fields)),
};

const ignore = () => undefined;
/** `logger: false`: nothing is written. */
export const silentLogger: Logger = { info: ignore, warn: ignore, error: ignore };

/** The `logger` option: a logger of your own, `false` to write nothing, or unset for the console. */
export type LoggerOption = Logger | false | undefined;

/** The logger an option stands for. A custom logger that throws never breaks the request that logged. */
export function resolveLogger(option: LoggerOption): Logger {
  if (option === undefined) return consoleLogger;
  if (option === false) return silentLogger;
  if (typeof option !== 'object' || option === null || !(['info', 'warn', 'error'] as const).every((level) => typeof option[level] === 'function'))
    throw new TypeError('logger must be false or an object with info, warn and error functions');
  const guarded =
    (level: LogLevel): Logger[LogLevel] =>
    (message, fields) => {
      try {
        option[level](message, fields);
      } catch {
        // A logging failure is not the request's failure.
      }
    };
  return { info: guarded('info'), warn: guarded('warn'), error: guarded('error') };
}

/**
 * The console logger, for code that runs outside any instance. Code inside an instance writes
 * to that instance's resolved `logger` instead, so `logger: false` silences it.
 */
export const log: Logger = consoleLogger;
