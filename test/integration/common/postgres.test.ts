// The protocol-neutral feature suites (./cases.ts) on the PostgreSQL listener, with node-postgres.
import { postgres } from '../../support/protocol-client.ts';
import { runFeatureCases } from './cases.ts';

runFeatureCases(postgres);
