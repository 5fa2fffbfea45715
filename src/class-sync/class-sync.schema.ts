import Joi from 'joi';

/** PUT /courses/{code}/class-sync. */
export const classSyncBodySchema = Joi.object({
  enabled: Joi.boolean().strict().required().description('Turn the class group sync on or off; turning it on sets enabledAt and starts a sync'),
  // A string (bodies are validated without conversion); the route makes it a Date.
  endsAt: Joi.string()
    .isoDate()
    .allow(null)
    .description('When syncing stops at the latest (ISO 8601); null clears it, absent leaves it as it is. Syncing stops 5 months after enabledAt in any case'),
});
