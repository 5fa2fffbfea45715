// The next time flip of each (time-dependent automatic group, user): the instant at which the user's result changes
// by time alone (src/rules/next-change.ts), kept with the data so that it survives restarts and is shared by every
// process. The one writer of `time_flips` and `time_flip_days`.
//
// Reads are shaped for the embedded database, which pushes only top-level equalities down to an index (FERRETDB.md):
// each flip carries its UTC day number, and `time_flip_days` holds one small document per (group, day) that has
// flips. The wake-up reads the day documents, then the flips of its earliest day by equality; a group's
// nextChangeAt reads that group's day documents, then the flips of its earliest day. Neither ever reads a whole
// group's flips. Flips are rewritten by delete and insert (inserts are cheap there, updates by _id are not), and only
// where they changed: a nightly full sync over 50,000 unchanged users rewrites nothing.
import mongoose, { Schema } from 'mongoose';
import type { Collection } from 'mongodb';
import { db, declareIndex } from '../platform/db/index.js';
import { DAY_MS, timeZone } from '../rules/dates.js';

/** One flip as an evaluation decided it: `at` null clears the user's flip for that group. */
export interface PlannedFlip {
  groupId: string;
  externalId: string;
  at: Date | null;
  /** The condition that flips there, in words (flipReason). */
  reason: string;
  ruleVersion: number;
}

export interface TimeFlipDoc {
  /** `<groupId>:<externalId>`. */
  _id: string;
  group: string;
  externalId: string;
  at: Date;
  /** UTC day number of `at`: the equality the reads select by. */
  day: number;
  reason: string;
  ruleVersion: number;
  /** TIMEZONE the flip was computed in: a start under another zone recomputes (see time-flips.job.ts). */
  zone: string;
}

interface FlipDayDoc {
  /** `<day>:<groupId>`. */
  _id: string;
  day: number;
  group: string;
}

const flipSchema = new Schema(
  {
    _id: { type: String, required: true },
    group: { type: String, required: true },
    externalId: { type: String, required: true },
    at: { type: Date, required: true },
    day: { type: Number, required: true },
    reason: { type: String, required: true },
    ruleVersion: { type: Number, required: true },
    zone: { type: String, required: true },
  },
  { versionKey: false, collection: 'time_flips' },
);
const flipDaySchema = new Schema(
  { _id: { type: String, required: true }, day: { type: Number, required: true }, group: { type: String, required: true } },
  { versionKey: false, collection: 'time_flip_days' },
);
const TimeFlipModel = mongoose.model('TimeFlip', flipSchema);
const FlipDayModel = mongoose.model('TimeFlipDay', flipDaySchema);
declareIndex(TimeFlipModel as unknown as mongoose.Model<never>, { day: 1 });
declareIndex(TimeFlipModel as unknown as mongoose.Model<never>, { group: 1, day: 1 });
declareIndex(FlipDayModel as unknown as mongoose.Model<never>, { group: 1 });

const flips = () => TimeFlipModel.collection as unknown as Collection<TimeFlipDoc>;
const flipDays = () => FlipDayModel.collection as unknown as Collection<FlipDayDoc>;

export const flipId = (groupId: string, externalId: string): string => `${groupId}:${externalId}`;
const dayOf = (at: Date): number => Math.floor(at.getTime() / DAY_MS);
const dayId = (day: number, groupId: string): string => `${day}:${groupId}`;

/** Called with the earliest instant a write stored (installed by the wake-up job: it schedules a wake-up there). */
export type FlipWake = (at: Date) => Promise<void>;
let wake: FlipWake | undefined;

/** Installs the wake-up scheduler; returns the previous one. */
export function useFlipWake(next: FlipWake | undefined): FlipWake | undefined {
  const previous = wake;
  wake = next;
  return previous;
}

export interface FlipWriteOutcome {
  written: number;
  cleared: number;
  unchanged: number;
}

/**
 * Stores what an evaluation decided for each (group, user): a new or moved flip is written, a flip that no longer
 * exists is deleted, an unchanged one is left alone. Then the wake-up is brought forward if one of them is earlier.
 */
export async function writeFlips(planned: readonly PlannedFlip[], known?: ReadonlyMap<string, TimeFlipDoc>): Promise<FlipWriteOutcome> {
  const outcome: FlipWriteOutcome = { written: 0, cleared: 0, unchanged: 0 };
  if (planned.length === 0) return outcome;
  // The last decision per pair wins (an evaluation decides each pair once; this only guards).
  const byId = new Map<string, PlannedFlip>();
  for (const p of planned) byId.set(flipId(p.groupId, p.externalId), p);
  const zone = timeZone();
  // What is stored for those pairs: what the caller read already, the rest read here.
  const unknown = known ? [...byId.keys()].filter((id) => !known.has(id)) : [...byId.keys()];
  const stored = new Map<string, TimeFlipDoc>(known ?? []);
  if (unknown.length) for (const [id, doc] of await db().readByIds(flips(), unknown)) stored.set(id, doc);
  const remove: string[] = [];
  const insert: TimeFlipDoc[] = [];
  for (const [id, p] of byId) {
    const old = stored.get(id);
    if (!p.at) {
      if (old) {
        remove.push(id);
        outcome.cleared++;
      }
      continue;
    }
    if (old && old.at.getTime() === p.at.getTime() && old.reason === p.reason && old.ruleVersion === p.ruleVersion && old.zone === zone) {
      outcome.unchanged++;
      continue;
    }
    if (old) remove.push(id);
    insert.push({ _id: id, group: p.groupId, externalId: p.externalId, at: p.at, day: dayOf(p.at), reason: p.reason, ruleVersion: p.ruleVersion, zone });
  }
  if (remove.length) await db().deleteByIds(flips(), remove);
  if (insert.length) {
    await db().insertIgnoringDuplicates(flips(), insert);
    // After the flips: a wake-up that finds a day document finds its flips (see dropDayIfEmpty).
    const days = new Map<string, FlipDayDoc>();
    for (const f of insert) days.set(dayId(f.day, f.group), { _id: dayId(f.day, f.group), day: f.day, group: f.group });
    await db().insertIgnoringDuplicates(flipDays(), [...days.values()]);
    outcome.written = insert.length;
    const earliest = insert.reduce((min, f) => (f.at < min ? f.at : min), insert[0]!.at);
    await wake?.(earliest);
  }
  return outcome;
}

/** The (group, day) documents, ascending by day: every day that has flips. */
async function daysWithFlips(groupId?: string): Promise<FlipDayDoc[]> {
  const docs = groupId ? await db().readWhereIn(flipDays(), 'group', [groupId]) : await flipDays().find({}).toArray();
  return docs.sort((a, b) => a.day - b.day);
}

/**
 * A day document whose flips are all handled goes; a flip written meanwhile puts it back (the writer inserts its
 * flip before the day document, and this re-reads after deleting, so one of the two always leaves it in place).
 */
async function dropDayIfEmpty(day: FlipDayDoc): Promise<void> {
  const left = async () => (await flips().find({ day: day.day, group: day.group }, { projection: { _id: 1 } }).limit(1).toArray()).length > 0;
  if (await left()) return;
  await db().deleteByIds(flipDays(), [day._id]);
  if (await left()) await db().insertIgnoringDuplicates(flipDays(), [day]);
}

/** The earliest stored flip of a group (its `sync.nextChangeAt`), or null. */
export async function nextFlipOfGroup(groupId: string): Promise<Date | null> {
  for (const day of await daysWithFlips(groupId)) {
    const docs = await flips().find({ day: day.day, group: groupId }, { projection: { at: 1 } }).toArray();
    if (docs.length) return docs.reduce((min, d) => (d.at < min ? d.at : min), docs[0]!.at);
    await dropDayIfEmpty(day);
  }
  return null;
}

/** The user's stored flip in a group (explain's `changesAt`), or null. */
export async function flipOf(groupId: string, externalId: string): Promise<TimeFlipDoc | null> {
  return (await db().readByIds(flips(), [flipId(groupId, externalId)])).get(flipId(groupId, externalId)) ?? null;
}

export interface DueFlips {
  /** Flips at or before `now`, earliest first, at most `limit`. */
  due: TimeFlipDoc[];
  /** The earliest stored flip after those (the next wake-up), or null. */
  next: Date | null;
}

/**
 * What a wake-up at `now` has to do: the due flips (one equality read per day that has them, the earliest day
 * first) and the next instant after them. Reads days only until it has `limit` due flips and the next instant.
 */
export async function dueFlips(now: Date, limit: number): Promise<DueFlips> {
  const due: TimeFlipDoc[] = [];
  let next: Date | null = null;
  const days = await daysWithFlips();
  const distinctDays = [...new Set(days.map((d) => d.day))];
  for (const day of distinctDays) {
    const docs = await flips().find({ day }).toArray();
    if (docs.length === 0) {
      for (const d of days.filter((x) => x.day === day)) await dropDayIfEmpty(d);
      continue;
    }
    docs.sort((a, b) => a.at.getTime() - b.at.getTime());
    for (const doc of docs) {
      if (doc.at.getTime() <= now.getTime() && due.length < limit) due.push(doc);
      else if (!next || doc.at < next) next = doc.at;
    }
    // The day documents of groups whose flips that day are all gone.
    const present = new Set(docs.map((d) => d.group));
    for (const d of days.filter((x) => x.day === day && !present.has(x.group))) await dropDayIfEmpty(d);
    if (next) break;
  }
  return { due, next };
}

/**
 * Deletes handled flips that no evaluation replaced, each only if it is still the flip that was handled (another
 * writer may have stored a new one for that user meanwhile: that one stays).
 */
export async function clearHandled(handled: readonly TimeFlipDoc[]): Promise<void> {
  if (handled.length === 0) return;
  const stored = await db().readByIds(flips(), handled.map((f) => f._id));
  const gone = handled.filter((f) => stored.get(f._id)?.at.getTime() === f.at.getTime()).map((f) => f._id);
  if (gone.length) await db().deleteByIds(flips(), gone);
}

/** The zone the stored flips were computed in, when some were computed in another than TIMEZONE (one read of one flip). */
export async function storedFlipZone(): Promise<string | null> {
  const one = await flips().find({}, { projection: { zone: 1 } }).limit(1).toArray();
  return one[0]?.zone ?? null;
}

/** Drops every flip (the start under another TIMEZONE recomputes them all through a full sync). */
export async function dropAllFlips(): Promise<void> {
  await flips().deleteMany({});
  await flipDays().deleteMany({});
}
