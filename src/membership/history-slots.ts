// Where a group's newest history is: time slots, so that a history page reads the entries of a few seconds instead
// of the whole group's history.
//
// On the embedded database a query is served from an index only by a top-level equality (FERRETDB.md), and a sort
// happens in memory: a history page read by `{ group }` decodes and sorts every entry the group ever had (a group
// that 10,000 HR changes filled: 10,000 entries scattered among every other group's, 400 ms for 50 of them). So each
// entry carries its slot, the second of its instant (`<group>:2026-12-05T16:20:01`), and every slot that holds an
// entry is named by a marker, under its hour, under its day, under the group:
//   { _id: '<group>:2026-12-05', parent: '<group>' }
//   { _id: '<group>:2026-12-05T16', parent: '<group>:2026-12-05' }
//   { _id: '<group>:2026-12-05T16:20:01', parent: '<group>:2026-12-05T16' }
// A page walks the markers newest first (each level one equality read) and reads slot after slot, each an
// equality, until it has its entries. Slots are disjoint and ordered in time, so the page keeps the order of the
// plain read (instant, then `_id`, newest first) and its cursor.
//
// The store writes a slot's markers before any entry in it (markers of a slot whose entries were then never
// written only cost an empty read), so a reader that finds an entry's slot's markers missing never happens.
import mongoose, { Schema } from 'mongoose';
import type { Collection } from 'mongodb';
import { declareIndex } from '../platform/db/index.js';
import { completionMark } from './backfill.js';

export interface SlotMarker {
  _id: string;
  parent: string;
}

const markerSchema = new Schema({ _id: { type: String, required: true }, parent: { type: String, required: true } }, { versionKey: false, collection: 'membership_history_slots' });
const SlotMarkerModel = mongoose.model('MembershipHistorySlot', markerSchema);
declareIndex(SlotMarkerModel as unknown as mongoose.Model<never>, { parent: 1 });

/** For reading; the membership store writes them, with the history entries. */
export const slotMarkers = (): Collection<SlotMarker> => SlotMarkerModel.collection as unknown as Collection<SlotMarker>;

/** The slot of an entry: its group and the second of its instant (UTC), `<group>:YYYY-MM-DDTHH:MM:SS`. */
export function historySlot(groupId: string, at: Date): string {
  return `${groupId}:${at.toISOString().slice(0, 19)}`;
}

/** The markers that name a slot: its day under the group, its hour under the day, the slot under the hour. */
export function slotMarkersOf(slot: string): SlotMarker[] {
  // The slot's time part is the last 19 characters; the group id before it may hold anything but a newline.
  const group = slot.slice(0, -20);
  const day = slot.slice(0, -9);
  const hour = slot.slice(0, -6);
  return [
    { _id: day, parent: group },
    { _id: hour, parent: day },
    { _id: slot, parent: hour },
  ];
}

/** The keys under a parent, newest first (keys of one parent differ only in fixed-width time digits). */
export async function slotChildren(parent: string): Promise<string[]> {
  const docs = await slotMarkers().find({ parent }, { projection: { _id: 1 } }).toArray();
  return docs.map((d) => d._id).sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
}

/**
 * Every slot of a group, newest first, at or before `upTo` (a slot key, from a cursor), lazily: a page that finds
 * its entries in the newest few slots reads no older marker.
 */
export async function* slotsNewestFirst(groupId: string, upTo?: string): AsyncGenerator<string> {
  const [dayCut, hourCut] = upTo === undefined ? [] : [upTo.slice(0, -9), upTo.slice(0, -6)];
  for (const day of await slotChildren(groupId)) {
    if (dayCut !== undefined && day > dayCut) continue;
    for (const hour of await slotChildren(day)) {
      if (hourCut !== undefined && hour > hourCut) continue;
      for (const slot of await slotChildren(hour)) {
        if (upTo !== undefined && slot > upTo) continue;
        yield slot;
      }
    }
  }
}

/** Whether every history entry has its slot (the store's fillMissingHistorySlots finished once, in any process). */
export const historySlotsMark = completionMark('history-slots');
