// The protocol-neutral feature suites (./cases.ts) on the MariaDB listener, with mysql2.
import { mariadb } from '../../support/protocol-client.ts';
import { runFeatureCases } from './cases.ts';

runFeatureCases(mariadb);
