/** The shared pool suite (pool.case.ts) with `m2pool start --topology direct`: workers straight on Mongrel2. */
import { poolSuite } from './pool.case';

poolSuite('direct');
