// Every protocol-neutral feature suite, in one list: mariadb.test.ts and postgres.test.ts each run
// all of them with their own driver, so a feature added here is tested on both protocols at once.
import type { ProtocolDriver } from '../../support/protocol-client.ts';
import { batchIsolationCase } from './batch-isolation.case.ts';
import { callerMetadataCase } from './caller-metadata.case.ts';
import { faultsCase } from './faults.case.ts';
import { metricsCase } from './metrics.case.ts';
import { queryCacheCase } from './query-cache.case.ts';
import { reloadCase } from './reload.case.ts';
import { statusCase } from './status.case.ts';
import { writeBatchingCase } from './write-batching.case.ts';

export const FEATURE_CASES: readonly ((driver: ProtocolDriver) => void)[] = [
  queryCacheCase,
  statusCase,
  callerMetadataCase,
  writeBatchingCase,
  batchIsolationCase,
  metricsCase,
  faultsCase,
  reloadCase,
];

/** Declares every feature suite for `driver`'s protocol. */
export function runFeatureCases(driver: ProtocolDriver): void {
  for (const featureCase of FEATURE_CASES) featureCase(driver);
}
