import type { Reporter, TestCase, TestModule } from 'vitest/node';
import type { FaultFigures } from './record.js';

/**
 * Prints the fault campaign as one table after the run: scenario, invariant, result, and the
 * figures the scenario measured. A test that recorded no figures still gets its row, named by
 * its file and title, so a failing scenario is never missing from the table.
 */
export default class FaultTable implements Reporter {
  private readonly rows: { fault: FaultFigures; result: string }[] = [];

  onTestCaseResult(test: TestCase): void {
    if (test.project.name !== 'faults' && test.project.name !== 'open-bugs') return;
    const state = test.result().state;
    const fault = test.meta().fault ?? {
      scenario: `${test.module.moduleId.split('/').pop() ?? ''}: ${test.name}`,
      invariant: '(not recorded)',
      figures: {},
    };
    this.rows.push({
      fault,
      result: state === 'passed' ? 'pass' : state === 'failed' ? 'FAIL' : state,
    });
  }

  onTestRunEnd(_modules: readonly TestModule[]): void {
    if (this.rows.length === 0) return;
    const table = this.rows.map(({ fault, result }) => [
      fault.scenario,
      fault.invariant,
      result,
      Object.entries(fault.figures)
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
    ]);
    const header = ['scenario', 'invariant', 'result', 'measured'];
    const widths = header.map((h, i) =>
      Math.max(h.length, ...table.map((r) => (r[i] ?? '').length)),
    );
    const line = (cells: string[]): string =>
      `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
    process.stdout.write(
      `\nFault campaign\n${line(header)}\n${line(widths.map((w) => '-'.repeat(w)))}\n${table.map(line).join('\n')}\n`,
    );
  }
}
