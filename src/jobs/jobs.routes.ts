import { Router } from 'express';
import Joi from 'joi';
import { requirePermission } from '../platform/auth.js';
import { validate } from '../platform/validate.js';
import { NotFoundError } from '../platform/errors.js';
import { pageRequest, pageSchema } from '../platform/pagination.js';
import { getJobRun, listJobRuns } from './job-runs.service.js';

export function jobsRoutes(): Router {
  const router = Router();
  router.get('/jobs', requirePermission('jobs:read'), validate({ query: Joi.object({ ...pageSchema, status: Joi.string().valid('queued', 'running', 'completed', 'failed') }) }), async (_req, res) => {
    res.json(await listJobRuns(pageRequest(res.locals.query), res.locals.query.status));
  });
  router.get('/jobs/:jobId', requirePermission('jobs:read'), validate({ params: Joi.object({ jobId: Joi.string().max(200).required() }) }), async (req, res) => {
    const run = await getJobRun(req.params.jobId as string);
    if (!run) throw new NotFoundError(`No job with id ${req.params.jobId as string}.`);
    res.json(run);
  });
  return router;
}

export const jobsOpenApi = {
  '/api/v1/jobs': {
    get: { tags: ['jobs'], summary: 'Recent jobs, newest first', parameters: [{ $ref: '#/components/parameters/limit' }, { $ref: '#/components/parameters/cursor' }, { name: 'status', in: 'query', schema: { type: 'string', enum: ['queued', 'running', 'completed', 'failed'] } }], responses: { 200: { description: 'A page of jobs' } } },
  },
  '/api/v1/jobs/{jobId}': {
    get: {
      tags: ['jobs'], summary: 'A job’s status, progress and result',
      parameters: [{ name: 'jobId', in: 'path', required: true, schema: { type: 'string' } }],
      responses: { 200: { description: 'The job', content: { 'application/json': { schema: { $ref: '#/components/schemas/Job' } } } }, 404: { $ref: '#/components/responses/Problem' } },
    },
  },
};

export const jobsSchemas = {
  Job: { type: 'object', required: ['id', 'name', 'status', 'progress'], properties: { id: { type: 'string' }, name: { type: 'string' }, status: { type: 'string', enum: ['queued', 'running', 'completed', 'failed'] }, progress: { type: 'object', properties: { done: { type: 'integer' }, total: { type: 'integer' } } }, result: {}, error: { type: 'string' }, createdAt: { type: 'string', format: 'date-time' }, startedAt: { type: 'string', format: 'date-time' }, finishedAt: { type: 'string', format: 'date-time' } } },
  JobAccepted: { type: 'object', required: ['jobId'], properties: { jobId: { type: 'string' } } },
};
