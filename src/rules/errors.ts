import type { RuleIssue } from './rule.types.js';

/** A rule could not be evaluated for this input (the input is not a user's facts). Never thrown for a missing fact. */
export class RuleEvaluationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** compileRule/createEngine were given a document that is not a structurally valid rule. */
export class InvalidRuleError extends RuleEvaluationError {
  readonly errors: RuleIssue[];

  constructor(errors: RuleIssue[]) {
    const first = errors[0];
    super(`invalid rule${first ? `: ${first.path}: ${first.message}` : ''}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}`);
    this.errors = errors;
  }
}
