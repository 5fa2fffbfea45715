import Joi from 'joi';
import { isCalendarDate } from '../directory/user-values.js';

/**
 * joi's isoDate() takes 2027-02-30 and reads it as 2 March: an instant whose calendar day does not exist is refused
 * here, as rules and date fields refuse it.
 */
const realCalendarDay: Joi.CustomValidator<string> = (value, helpers) =>
  // Not a date at all is isoDate()'s to report, once.
  !/^\d{4}-\d{2}-\d{2}/.test(value) || isCalendarDate(value.slice(0, 10))
    ? value
    : helpers.message({ custom: `must be a real calendar date and time (got "${value.slice(0, 40)}")` });

/** PUT /courses/{code}/class-sync. */
export const classSyncBodySchema = Joi.object({
  enabled: Joi.boolean().strict().required().description('Turn the class group sync on or off; turning it on sets enabledAt and starts a sync'),
  // A string (bodies are validated without conversion); the route makes it a Date.
  endsAt: Joi.string()
    .isoDate()
    .custom(realCalendarDay)
    .allow(null)
    .description('When syncing stops at the latest (ISO 8601); null clears it, absent leaves it as it is. Syncing stops 5 months after enabledAt in any case'),
});
