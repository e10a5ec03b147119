/** The shared pool suite (pool.case.ts) with `m2pool start` in the dispatch topology (the default). */
import { poolSuite } from './pool.case';

poolSuite('dispatch');
