// Deleting a field definition that a group rule reads must be refused (409 naming the groups). The groups module
// knows the rules; the directory asks through this seam so that directory does not import groups.
type FieldUsageLookup = (fieldKey: string) => Promise<string[]>;

let lookup: FieldUsageLookup = async () => [];

/** Installs the lookup; returns the one it replaces (so that tests and stop() can put it back). */
export function setFieldUsageLookup(fn: FieldUsageLookup): FieldUsageLookup {
  const previous = lookup;
  lookup = fn;
  return previous;
}

/** Names of the groups whose rule uses the field. */
export function groupsUsingField(fieldKey: string): Promise<string[]> {
  return lookup(fieldKey);
}
