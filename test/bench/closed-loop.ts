/**
 * Closed-loop HTTP clients for the loss benches: `clients` keep-alive connections to Mongrel2, each sending one
 * `/echo/…` request at a time. A request unanswered (or wrongly answered) within `answerWithinMs` counts as lost
 * and its connection is replaced, as an impatient real client would do.
 * @module
 */
import { HttpConnection, buildRequest } from '../helpers/http-client';

/** Running clients: counters, the send time of every lost request and the time of every answer. */
export interface ClosedLoop {
  readonly sent: () => number;
  readonly answered: () => number;
  /** Send times of the lost requests. */
  readonly lostAt: number[];
  /** Answer times (for throughput over a window). */
  readonly answeredAt: number[];
  /** Stop every client and wait for them to finish. */
  stop(): Promise<void>;
}

/** Start `clients` closed-loop clients against Mongrel2 on `port`. */
export function startClosedLoop(port: number, clients: number, answerWithinMs: number): ClosedLoop {
  let stopping = false;
  let sent = 0;
  let answered = 0;
  const lostAt: number[] = [];
  const answeredAt: number[] = [];
  const loops = Array.from({ length: clients }, async (_, c): Promise<void> => {
    let conn = await HttpConnection.open(port);
    for (let n = 0; !stopping; n += 1) {
      const t0 = Date.now();
      sent += 1;
      conn.send(buildRequest({ path: `/echo/c${c}-${n}` }));
      try {
        const res = await conn.read({ timeoutMs: answerWithinMs });
        if (res.status !== 200 || res.body.toString() !== `/echo/c${c}-${n}`) throw new Error(`wrong answer: ${res.status}`);
        answered += 1;
        answeredAt.push(Date.now());
      } catch {
        lostAt.push(t0);
        conn.close();
        if (stopping) break;
        conn = await HttpConnection.open(port);
      }
    }
    conn.close();
  });
  return {
    sent: () => sent,
    answered: () => answered,
    lostAt,
    answeredAt,
    async stop() {
      stopping = true;
      await Promise.all(loops);
    },
  };
}
