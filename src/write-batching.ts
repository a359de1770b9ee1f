// Builds one protocol's write-batch manager from its config and wires its
// observer to the metrics and the log. Protocol-neutral: each front end
// brings its own runner (how a batch becomes that protocol's statements).
import { BatchManager, type BatchMember, type BatchRunner } from './core/batch/batch-manager.ts';
import { DEFAULT_POLICY_OPTIONS } from './core/batch/template-policy.ts';
import type { ProtocolConfig } from './config/types.ts';
import type { Logger } from './log.ts';
import type { Metrics, Protocol } from './metrics/registry.ts';

/**
 * `maxBatchBytes` is read at each batch: a runner learns it from the server (max_allowed_packet).
 * Every metric the manager reports carries `protocol`, the listener it batches for.
 */
export function createBatchManager<M extends BatchMember>(
  protocol: Protocol,
  config: ProtocolConfig,
  runner: BatchRunner<M> & { readonly maxBatchBytes: number },
  metrics: Metrics,
  log: Logger,
): BatchManager<M> {
  const wb = config.writeBatch;
  return new BatchManager<M>(
    {
      initialDelayMs: wb.initialDelayMs,
      minDelayMs: wb.minDelayMs,
      maxDelayMs: wb.maxDelayMs,
      writeThreshold: wb.writeThreshold,
      adaptiveStep: wb.adaptiveStep,
      intervalSeconds: wb.metricsIntervalSeconds,
      maxBatchSize: wb.maxBatchSize,
      get maxBatchBytes() {
        return runner.maxBatchBytes;
      },
      timeoutMs: wb.timeoutMs,
      maxInFlight: wb.maxConcurrentBatches,
      latencyBudgetMs: wb.maxDelayMs,
      policy: { ...DEFAULT_POLICY_OPTIONS, probeIntervalMs: wb.probeIntervalMs },
    },
    runner,
    {
      queuedChanged: (queued) => metrics.setWriteQueued(protocol, queued),
      batchStarted: (site, size, waitedSeconds) => metrics.observeBatch(protocol, site, size, waitedSeconds),
      batchFinished: (site, size, seconds) => {
        metrics.observeBatchLatency(protocol, site, seconds);
        metrics.writesBatched(protocol, size);
      },
      delayChanged: (adjustment, delayMs, opsPerSecond) => {
        metrics.setWriteCurrentDelayMs(protocol, delayMs);
        metrics.setWriteOpsPerSecond(protocol, opsPerSecond);
        if (adjustment !== 'none') metrics.delayAdjusted(protocol, adjustment);
      },
      modeChanged: (site, change) => {
        metrics.writeModeSwitched(protocol, change.mode);
        log.info(change.mode === 'alone' ? 'batching does not pay for a template; its writes run alone' : 'batching pays again for a template', {
          site,
          batched_ms: change.batchedMeanMs.toFixed(2),
          alone_ms: change.aloneMeanMs.toFixed(2),
        });
      },
      ranAlone: () => metrics.writeExcludedFromBatch(protocol, 'not_paying'),
    },
  );
}

/** A short, stable metrics label for a statement template without a `file:` hint. */
export function templateId(template: string): string {
  return `t${(Bun.hash(template) & 0xffffffffn).toString(16).padStart(8, '0')}`;
}
