// Entity tags and the If-Match precondition (RFC 9110 §8.8.3, §13.1.1). If-None-Match on GETs needs nothing
// here: Express answers 304 by itself when the ETag a route set matches (weak comparison, as §13.1.2 wants).
import { createHash } from 'node:crypto';

/**
 * A strong entity tag derived from the representation itself: the hash of the JSON body a GET sends. Whatever
 * the representation holds (name, memberCount, sync state, rule version…), a change to it changes the tag, so
 * no field can be forgotten.
 */
export function representationEtag(body: unknown): string {
  return `"${createHash('sha256').update(JSON.stringify(body)).digest('base64url').slice(0, 27)}"`;
}

interface EntityTag {
  weak: boolean;
  /** The opaque-tag with its quotes, as it appears in an ETag header. */
  opaque: string;
}

// entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE; etagc = %x21 / %x23-7E / obs-text. Elements are separated by commas
// with optional whitespace; empty elements are allowed and ignored (RFC 9110 §5.6.1).
const LIST_ELEMENT = /^[ \t]*(?:(W\/)?("[\x21\x23-\x7E\x80-\xFF]*"))?[ \t]*(?:,|$)/;

/** The entity tags of an If-Match value, or undefined when it is not a list of entity tags. */
function parseEntityTags(value: string): EntityTag[] | undefined {
  const tags: EntityTag[] = [];
  let rest = value;
  while (rest.length > 0) {
    const m = LIST_ELEMENT.exec(rest);
    if (!m || m[0].length === 0) return undefined;
    if (m[2] !== undefined) tags.push({ weak: m[1] !== undefined, opaque: m[2] });
    rest = rest.slice(m[0].length);
  }
  return tags;
}

/**
 * Whether an If-Match header lets a write go ahead, for a resource that exists and whose current strong tags are
 * `current`. Absent: yes. `*`: yes (the resource exists). Otherwise only a strong tag equal to a current one
 * passes: a weak tag never does (If-Match uses the strong comparison), and a value that is not a list of entity
 * tags matches nothing, so every tag that is not current, whatever its text, is a 412 for the caller to raise.
 */
export function ifMatchHolds(header: string | undefined, current: readonly string[]): boolean {
  if (header === undefined) return true;
  if (header.trim() === '*') return true;
  const tags = parseEntityTags(header);
  if (!tags) return false;
  return tags.some((t) => !t.weak && current.includes(t.opaque));
}
