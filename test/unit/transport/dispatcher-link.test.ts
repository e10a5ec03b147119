/** The shared link suite against the dispatch topology's transport (an in-process dispatcher over fake Mongrel2 sockets). */
import { linkSuite } from './link.case';
import { fakeDispatcherPeer } from '../../helpers/fake-mongrel2';

linkSuite('dispatch (DispatcherTransport)', fakeDispatcherPeer);
