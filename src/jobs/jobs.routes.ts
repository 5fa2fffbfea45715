import { Router } from 'express';
import Joi from 'joi';
import { requirePermission } from '../platform/auth.js';
import { validate } from '../platform/validate.js';
import { NotFoundError } from '../platform/errors.js';
import { pageRequest, pageSchema } from '../platform/pagination.js';
import { pathParameters, queryParameters } from '../platform/openapi-schema.js';
import { getJobRun, listJobRuns } from './job-runs.service.js';

const JOB_STATUSES = ['queued', 'running', 'completed', 'failed'] as const;
const jobListQuery = Joi.object({ ...pageSchema, status: Joi.string().valid(...JOB_STATUSES) });
const jobParams = Joi.object({ jobId: Joi.string().max(200).required().description('The jobId a 202 answer gave') });

export function jobsRoutes(): Router {
  const router = Router();
  router.get('/jobs', requirePermission('jobs:read'), validate({ query: jobListQuery }), async (_req, res) => {
    res.json(await listJobRuns(pageRequest(res.locals.query), res.locals.query.status));
  });
  router.get('/jobs/:jobId', requirePermission('jobs:read'), validate({ params: jobParams }), async (req, res) => {
    const run = await getJobRun(req.params.jobId as string);
    if (!run) throw new NotFoundError(`No job with id ${req.params.jobId as string}.`);
    res.json(run);
  });
  return router;
}

const problem = { $ref: '#/components/responses/Problem' };
const errors = { 400: problem, 401: problem, 403: problem };

export const jobsOpenApi = {
  '/api/v1/jobs': {
    get: {
      tags: ['jobs'],
      operationId: 'listJobs',
      summary: 'Recent jobs, newest first',
      parameters: queryParameters(jobListQuery),
      responses: { 200: { description: 'A page of jobs', content: { 'application/json': { schema: { $ref: '#/components/schemas/JobPage' } } } }, ...errors },
    },
  },
  '/api/v1/jobs/{jobId}': {
    parameters: pathParameters(jobParams),
    get: {
      tags: ['jobs'],
      operationId: 'getJob',
      summary: 'A job’s status, progress and result',
      responses: { 200: { description: 'The job', content: { 'application/json': { schema: { $ref: '#/components/schemas/Job' } } } }, 404: problem, ...errors },
    },
  },
};

export const jobsSchemas = {
  Job: { type: 'object', required: ['id', 'name', 'status', 'progress'], properties: { id: { type: 'string' }, name: { type: 'string' }, status: { type: 'string', enum: [...JOB_STATUSES] }, progress: { type: 'object', properties: { done: { type: 'integer' }, total: { type: 'integer' } } }, result: {}, error: { type: 'string' }, createdAt: { type: 'string', format: 'date-time' }, startedAt: { type: 'string', format: 'date-time' }, finishedAt: { type: 'string', format: 'date-time' }, groupId: { type: 'string', description: 'The group the job works on, when it works on one' }, groupName: { type: 'string', description: 'That group’s name (absent once it is deleted)' }, course: { type: 'string', description: 'The course the job works on (class group sync), when it works on one' } } },
  JobPage: { type: 'object', required: ['items', 'nextCursor'], properties: { items: { type: 'array', items: { $ref: '#/components/schemas/Job' } }, nextCursor: { type: ['string', 'null'] } } },
  JobAccepted: { type: 'object', required: ['jobId'], properties: { jobId: { type: 'string' } } },
};
