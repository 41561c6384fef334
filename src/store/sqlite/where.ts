/**
 * A WHERE clause and its named parameters, built from a query's optional filters: `when` adds a
 * condition only for a value that is given, so a filter left out matches everything.
 */
export class Where {
  private readonly conditions: string[];

  constructor(
    conditions: readonly string[],
    readonly params: Record<string, unknown>,
  ) {
    this.conditions = [...conditions];
  }

  /** Adds `condition`, which reads @`param`, when `value` is not undefined. */
  when(value: unknown, condition: string, param: string): this {
    if (value !== undefined) {
      this.conditions.push(condition);
      this.params[param] = value;
    }
    return this;
  }

  /** The conditions joined by AND (TRUE when there are none). */
  get sql(): string {
    return this.conditions.length ? this.conditions.join(' AND ') : 'TRUE';
  }
}
