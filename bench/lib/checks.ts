/** The must-show checks a bench prints after its tables: an issue's targets against this run's figures. */
import { renderTable } from './table.ts';

export interface Check {
  name: string;
  value: number;
  target: string;
  isPassed: boolean;
  /** false: the cell the check reads was not part of this run. */
  isMeasured?: boolean;
}

/** A check of `value ≥ minimum`; a NaN or undefined value (cell not run) is reported as not run. */
export function atLeast(name: string, value: number | undefined, minimum: number, unit = '×'): Check {
  const isMeasured = value !== undefined && !Number.isNaN(value);
  return { name, value: value ?? Number.NaN, target: `≥ ${minimum}${unit === '×' ? '' : ` ${unit}`}`, isPassed: isMeasured && value >= minimum, isMeasured };
}

/** A check of `value ≤ maximum`. */
export function atMost(name: string, value: number | undefined, maximum: number, unit: string): Check {
  const isMeasured = value !== undefined && !Number.isNaN(value);
  return { name, value: value ?? Number.NaN, target: `≤ ${maximum} ${unit}`, isPassed: isMeasured && value <= maximum, isMeasured };
}

export function renderChecks(checks: readonly Check[]): string {
  return renderTable(
    [{ header: 'check', align: 'left' }, { header: 'value', decimals: 2 }, { header: 'target', align: 'left' }, { header: 'verdict', align: 'left' }],
    checks.map((c) => [c.name, c.value, c.target, c.isMeasured === false ? 'not run' : c.isPassed ? 'PASS' : 'FAIL']),
  );
}
