/**
 * In-memory pino destination (pino's own `sink()` helper idea): every log line parsed as JSON, plus an optional
 * hook called synchronously per line so a test can sample state at the moment of each lifecycle event.
 */
import type { DestinationStream } from 'pino';
import type { Logger } from '../../src/supervisor/arbiter/logger';
import { createSupervisorLogger } from '../../src/supervisor/arbiter/logger';

/** A parsed log line. */
export type SinkLine = Record<string, unknown> & { msg?: string; event?: string };

/** Collects log lines. */
export class LogSink implements DestinationStream {
  readonly lines: SinkLine[] = [];
  onLine: ((line: SinkLine) => void) | undefined;

  write(chunk: string): void {
    for (const text of chunk.split('\n')) {
      if (text === '') continue;
      const line = JSON.parse(text) as SinkLine;
      this.lines.push(line);
      this.onLine?.(line);
    }
  }

  /** Lines whose `event` is `name`, optionally filtered further. */
  events(name: string, where: (l: SinkLine) => boolean = () => true): SinkLine[] {
    return this.lines.filter((l) => l.event === name && where(l));
  }

  /** A supervisor logger writing here. */
  logger(level: 'debug' | 'info' = 'info'): Logger {
    return createSupervisorLogger(level, this);
  }
}
