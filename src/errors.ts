/**
 * Error registry: every error m2pool raises on purpose carries a stable code (fastify / undici style).
 * @module
 */

/** Stable error codes. Each one is documented in README's error table. */
export const ErrorCode = {
  CONFIG_INVALID: 'M2P_ERR_CONFIG_INVALID',
  PROTOCOL: 'M2P_ERR_PROTOCOL',
  WORKER_BOOT: 'M2P_ERR_WORKER_BOOT',
  APP_LOAD: 'M2P_ERR_APP_LOAD',
  SHUTDOWN_TIMEOUT: 'M2P_ERR_SHUTDOWN_TIMEOUT',
  SEND_FAILED: 'M2P_ERR_SEND_FAILED',
  RESPONSE_INVALID: 'M2P_ERR_RESPONSE_INVALID',
  MONGREL2_START: 'M2P_ERR_MONGREL2_START',
  ENDPOINT_IN_USE: 'M2P_ERR_ENDPOINT_IN_USE',
  APP_HOOK: 'M2P_ERR_APP_HOOK',
  CONN_INVALID: 'M2P_ERR_CONN_INVALID',
  PUSH_UNAVAILABLE: 'M2P_ERR_PUSH_UNAVAILABLE',
  PUSH_FAILED: 'M2P_ERR_PUSH_FAILED',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base class of every deliberate m2pool error. */
export class M2PoolError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'M2PoolError';
    this.code = code;
  }
}

/** Bad configuration: carries every problem found, not just the first. */
export class ConfigError extends M2PoolError {
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super(ErrorCode.CONFIG_INVALID, `invalid configuration:\n  - ${issues.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** A wire message that does not follow the Mongrel2 / tnetstring grammar. `offset` is the byte offset. */
export class ProtocolError extends M2PoolError {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(ErrorCode.PROTOCOL, `${message} at byte ${offset}`);
    this.name = 'ProtocolError';
    this.offset = offset;
  }
}

/** Longest piece of untrusted input an error message or log line quotes. */
export const MAX_QUOTE_CHARS = 64;

/**
 * At most `max` characters of untrusted `text`, JSON-quoted and marked `…` when cut: what error messages and log
 * lines may repeat of a hostile input (a 1 MB header name must not become a 1 MB log line).
 */
export function quote(text: string, max: number = MAX_QUOTE_CHARS): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}

/** Exit codes are a protocol between worker and supervisor (gunicorn's WORKER_BOOT_ERROR / APP_LOAD_ERROR). */
export const ExitCode = {
  OK: 0,
  CRASH: 1,
  USAGE: 2,
  BOOT_ERROR: 3,
  APP_LOAD_ERROR: 4,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Narrow an unknown caught value to a Node errno-style error. */
export function isErrnoException(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string';
}

/** Human-readable message of an unknown caught value. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
