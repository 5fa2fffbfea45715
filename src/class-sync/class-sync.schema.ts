import Joi from 'joi';

/** PUT /courses/{code}/class-sync. */
export const classSyncBodySchema = Joi.object({
  enabled: Joi.boolean().strict().required().description('Turn the class group sync on or off; turning it on sets enabledAt and starts a sync'),
  endsAt: Joi.date()
    .iso()
    .allow(null)
    .description('When syncing stops at the latest (ISO 8601); null clears it, absent leaves it as it is. Syncing stops 5 months after enabledAt in any case'),
});
