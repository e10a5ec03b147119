/**
 * The baseline process of `idle-rss.ts`: bare Node that has loaded zeromq (and, forked, has its IPC channel
 * open), then idles. It says `baseline.ready` over the channel once loaded. Not a test.
 * @module
 */
import 'zeromq';

process.send?.({ type: 'baseline.ready' });
// Idle until the parent disconnects the channel or signals: the event loop stays alive through the channel.
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
