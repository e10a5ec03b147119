/** The shared link suite against the direct topology's transport (fake Mongrel2 sockets on ipc). */
import { linkSuite } from './link.case';
import { fakeMongrel2Peer } from '../../helpers/fake-mongrel2';

linkSuite('direct (Mongrel2Transport)', fakeMongrel2Peer);
