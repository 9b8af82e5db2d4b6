// The process entry (`npm start`, `stockhold serve`): one Node process that serves, and drains
// and exits when it receives SIGTERM or SIGINT.
import 'dotenv/config';
import { reportStartFailure, runServer } from './startup/run-server.js';

runServer().catch(reportStartFailure);
