// Field definitions: the typed "additional fields" users may carry.
//
// Changing a definition never converts stored values. A change that stored values would no longer fit (another
// type, a select losing an option a user holds) is refused with 409 naming how many users and some of them;
// a change they still fit (select → text, text → select whose options cover every stored value) is accepted.
// Deleting a definition that a group rule reads is refused with 409 naming the groups; otherwise the field's
// values are removed from every user, as a change of `fields.<key>` for each of them.
import { ConflictError, NotFoundError } from '../platform/errors.js';
import { pageQuery, toPage, type Page, type PageRequest } from '../platform/pagination.js';
import { FieldDefinitionModel, type FieldDefinitionDoc } from './field-definition.model.js';
import type { FieldDefinitionInput, FieldType } from './field-definition.schema.js';
import { fieldValueProblem, type FieldDefinition, type FieldDefinitions } from './user-values.js';
import { groupsUsingField } from './field-usage.js';
import { fieldLock, userLock } from './lock-keys.js';
import { withLocks } from '../platform/db/index.js';
import { readUsersByIds, usersCollection } from './user-store.js';
import { updateUsers, type PathsUpdate, type WriteContext } from './user-writes.js';

interface FieldDefinitionView extends FieldDefinition {
  createdAt: string;
  updatedAt: string;
}

function toDefinition(doc: FieldDefinitionDoc): FieldDefinition {
  return { key: doc._id, label: doc.label, type: doc.type as FieldType, ...(doc.options?.length ? { options: [...doc.options] } : {}) };
}

function view(doc: FieldDefinitionDoc): FieldDefinitionView {
  return { ...toDefinition(doc), createdAt: doc.createdAt.toISOString(), updatedAt: doc.updatedAt.toISOString() };
}

/** Every definition, keyed by key. The collection is small; one read per request. */
export async function loadFieldDefinitions(): Promise<FieldDefinitions> {
  const docs = await FieldDefinitionModel.find({}).lean<FieldDefinitionDoc[]>();
  return new Map(docs.map((d) => [d._id, toDefinition(d)]));
}

export async function listFieldDefinitions(page: PageRequest): Promise<Page<FieldDefinitionView>> {
  const docs = await FieldDefinitionModel.find(pageQuery(page, '_id')).sort({ _id: 1 }).limit(page.limit + 1).lean<FieldDefinitionDoc[]>();
  return toPage(docs.map(view), page.limit, (d) => d.key);
}

export async function getFieldDefinition(key: string): Promise<FieldDefinitionView> {
  const doc = await FieldDefinitionModel.findById(key).lean<FieldDefinitionDoc>();
  if (!doc) throw new NotFoundError(`No field definition with key ${key}.`);
  return view(doc);
}

const sameOptions = (a: readonly string[] | undefined, b: readonly string[] | undefined) =>
  (a ?? []).length === (b ?? []).length && (a ?? []).every((o, i) => o === b?.[i]);

/** Users whose stored value would not fit `next`: how many, and the first few externalIds. */
async function valuesNotFitting(next: FieldDefinition): Promise<{ count: number; sample: string[] }> {
  const path = `fields.${next.key}`;
  const docs = await usersCollection().find({ [path]: { $exists: true } }, { projection: { _id: 1, [path]: 1 } }).toArray();
  const misfits = docs.filter((d) => fieldValueProblem(next, d.fields?.[next.key]) !== undefined).map((d) => d._id).sort();
  return { count: misfits.length, sample: misfits.slice(0, 10) };
}

export async function putFieldDefinition(key: string, input: FieldDefinitionInput): Promise<{ definition: FieldDefinitionView; created: boolean }> {
  return withLocks([fieldLock(key)], async () => {
    const existing = await FieldDefinitionModel.findById(key).lean<FieldDefinitionDoc>();
    const options = input.type === 'select' ? input.options : undefined;
    if (!existing) {
      const now = new Date();
      const doc = { _id: key, label: input.label, type: input.type, ...(options ? { options } : {}), createdAt: now, updatedAt: now };
      await FieldDefinitionModel.collection.insertOne(doc as never);
      return { definition: view(doc as FieldDefinitionDoc), created: true };
    }
    const typeChanged = existing.type !== input.type || !sameOptions(existing.options ?? undefined, options);
    if (existing.label === input.label && !typeChanged) return { definition: view(existing), created: false };
    if (typeChanged) {
      const { count, sample } = await valuesNotFitting({ key, label: input.label, type: input.type, ...(options ? { options } : {}) });
      if (count > 0) {
        throw new ConflictError(
          `${count} user${count > 1 ? 's hold values' : ' holds a value'} of field ${key} that a ${input.type} field` +
            `${input.type === 'select' ? ' with these options' : ''} cannot take (e.g. ${sample.join(', ')}); ` +
            'values are never converted: change or clear them first.',
          [{ path: input.type === existing.type ? 'options' : 'type', message: 'stored values do not fit the new definition' }],
          { users: count, sample },
        );
      }
    }
    const updatedAt = new Date();
    await FieldDefinitionModel.collection.updateOne(
      { _id: key } as never,
      { $set: { label: input.label, type: input.type, updatedAt, ...(options ? { options } : {}) }, ...(options ? {} : { $unset: { options: '' } }) },
    );
    const doc = { ...existing, label: input.label, type: input.type, options, updatedAt };
    return { definition: view(doc as FieldDefinitionDoc), created: false };
  });
}

export async function deleteFieldDefinition(key: string, ctx: WriteContext): Promise<void> {
  const groups = await groupsUsingField(key);
  if (groups.length > 0) {
    throw new ConflictError(
      `Field ${key} is used by the rule of ${groups.length > 1 ? 'groups' : 'group'} ${groups.map((g) => JSON.stringify(g)).join(', ')}; change those rules first.`,
      undefined,
      { groups },
    );
  }
  await withLocks([fieldLock(key)], async () => {
    const deleted = await FieldDefinitionModel.collection.deleteOne({ _id: key } as never);
    if (deleted.deletedCount === 0) throw new NotFoundError(`No field definition with key ${key}.`);
    await removeFieldValues(key, ctx);
  });
}

/** Removes a field's values from every user holding one, as one directory write. */
async function removeFieldValues(key: string, ctx: WriteContext): Promise<void> {
  const path = `fields.${key}`;
  const holders = (await usersCollection().find({ [path]: { $exists: true } }, { projection: { _id: 1 } }).toArray()).map((d) => d._id);
  if (holders.length === 0) return;
  await withLocks(holders.map(userLock), async () => {
    // Read again under the users' locks: the version each write is conditional on.
    const { byId } = await readUsersByIds(holders, { _id: 1, version: 1, [path]: 1 });
    const updates = new Map<string, PathsUpdate>();
    for (const [id, doc] of byId) {
      if (doc.fields?.[key] !== undefined) updates.set(id, { from: doc.version ?? 0, changed: [path], unset: { [path]: '' } });
    }
    await updateUsers(ctx, updates);
  });
}
