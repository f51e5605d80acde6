/**
 * The failure stops the job because a rule said so (SUSPEND or FAIL) or the error budget was
 * spent (SUSPEND): the report carries the action, which the coordinator follows whatever
 * `suspendOnFailure` says.
 */
export class Escalation extends Error {
  constructor(
    readonly failure: unknown,
    readonly action: 'SUSPEND' | 'FAIL',
    /** Set when the budget was spent: what the cause's description says. */
    readonly budgetSpent: string | null,
  ) {
    super(failure instanceof Error ? failure.message : String(failure));
    this.name = 'Escalation';
  }
}
