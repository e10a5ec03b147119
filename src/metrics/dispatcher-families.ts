/**
 * The pool dispatcher's metrics as the supervisor serves them: the snapshots the dispatcher pushes
 * (`m2pool:metrics`, families `m2pool_dispatcher_*` and `m2pool_queue_wait_seconds`) are validated against
 * {@link DISPATCHER_SPECS} and kept in a {@link SnapshotLedger} of their own, one process key per dispatcher
 * process, so its counters and histograms never go backwards when it is restarted (the retired total keeps what
 * a dead dispatcher counted); its gauges come from the live process only, without a slot label.
 * @module
 */
import { DISPATCHER_METRICS, QUEUE_WAIT_BUCKETS } from './dispatcher-definitions';
import type { WorkerMetricSpec } from './definitions';
import type { ExpositionFamily } from './exposition';
import type { Snapshot } from './snapshot';
import { gaugeSamples, pooledSamples } from './worker-families';

/** Every dispatcher family, as a spec the snapshot parser checks. */
export const DISPATCHER_SPECS: ReadonlyMap<string, WorkerMetricSpec> = new Map(
  Object.values(DISPATCHER_METRICS).map((m): [string, WorkerMetricSpec] => {
    const labelNames = 'label' in m ? [m.label] : [];
    const spec: WorkerMetricSpec =
      m.kind === 'histogram'
        ? { name: m.name, help: m.help, kind: 'histogram', labelNames, buckets: QUEUE_WAIT_BUCKETS, unit: 'seconds', merge: 'sum' }
        : { name: m.name, help: m.help, kind: m.kind, labelNames, merge: m.kind === 'counter' ? 'sum' : 'slot-max' };
    return [m.name, spec];
  }),
);

/** Families of the pool's dispatcher(s): totals for counters and histograms, the live snapshot for gauges. */
export function dispatcherPoolFamilies(totals: Snapshot, live: Snapshot | undefined): ExpositionFamily[] {
  return [...DISPATCHER_SPECS.values()].map((spec) => ({
    name: spec.name,
    help: spec.help,
    type: spec.kind,
    ...(spec.unit === undefined ? {} : { unit: spec.unit }),
    samples: spec.kind === 'gauge' ? (live === undefined ? [] : gaugeSamples(spec, live)) : pooledSamples(spec, totals),
  }));
}
