import Joi from 'joi';

/** POST /session: the API key to sign in with. */
export const openSessionSchema = Joi.object({ key: Joi.string().min(1).max(256).required().description('An API key (agk_…)') });
