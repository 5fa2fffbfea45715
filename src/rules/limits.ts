// Size limits of a rule document. They bound validation, compilation and evaluation work per rule.
export const MAX_CONDITIONS = 500;
export const MAX_GROUPS = 500;
export const MAX_DEPTH = 20;
export const MAX_STRING_LENGTH = 1000;
export const MAX_ARRAY_LENGTH = 1000;
export const MAX_DECORATORS = 3;
export const MAX_DAYS = 36_500;
/** Validation stops collecting after this many issues. */
export const MAX_ISSUES = 100;
