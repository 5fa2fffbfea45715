// Which driver errors mean "the database is away" (answered 503 with Retry-After) and which are answered as
// what they are, through the one error translator.
import { expect } from 'chai';
import express from 'express';
import supertest from 'supertest';
import { MongoBulkWriteError, MongoNetworkError, MongoServerError, MongoServerSelectionError, MongoTopologyClosedError } from 'mongodb';
import { isDatabaseUnavailable } from '../../../src/platform/db-unavailable.js';
import { errorHandler } from '../../../src/platform/errors.js';
import { createLogger } from '../../../src/platform/logger.js';

const selection = new MongoServerSelectionError('Server selection timed out after 1500 ms', { type: 'Unknown', servers: new Map(), stale: false, compatible: true, heartbeatFrequencyMS: 10000, localThresholdMS: 15, setName: null, maxElectionId: null, maxSetVersion: null, commonWireVersion: 0, logicalSessionTimeoutMinutes: null } as never);
const network = new MongoNetworkError('connection 6 to 127.0.0.1:27018 closed');

describe('database unavailable: classification and answer', () => {
  it('when the driver finds no server, a connection breaks, or the topology is closed, then it is unavailable', () => {
    expect(isDatabaseUnavailable(selection)).to.equal(true);
    expect(isDatabaseUnavailable(network)).to.equal(true);
    expect(isDatabaseUnavailable(new MongoTopologyClosedError())).to.equal(true);
  });

  it('when a bulk write, an aggregate or a cause wraps a network error, then it is unavailable', () => {
    const bulk = new MongoBulkWriteError(network as never, { insertedCount: 0, matchedCount: 0, modifiedCount: 0, deletedCount: 0, upsertedCount: 0, upsertedIds: {}, insertedIds: {} } as never);
    expect(isDatabaseUnavailable(bulk)).to.equal(true);
    expect(isDatabaseUnavailable(new AggregateError([new Error('listener'), network]))).to.equal(true);
    expect(isDatabaseUnavailable(new Error('wrapped', { cause: selection }))).to.equal(true);
  });

  it('when the server answers an error (duplicate key, bad query) or anything else fails, then it is not', () => {
    expect(isDatabaseUnavailable(new MongoServerError({ message: 'E11000 duplicate key', code: 11000 }))).to.equal(false);
    expect(isDatabaseUnavailable(new Error('bug'))).to.equal(false);
    expect(isDatabaseUnavailable(undefined)).to.equal(false);
  });

  it('when a route fails because the database is away, then a 503 problem document with Retry-After', async () => {
    const app = express();
    app.get('/x', () => {
      throw network;
    });
    app.get('/bug', () => {
      throw new Error('bug');
    });
    app.use(errorHandler(createLogger('silent')));
    const res = await supertest(app).get('/x').expect(503);
    expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
    expect(res.headers['retry-after']).to.equal('2');
    expect(res.body).to.include({ status: 503, title: 'Service unavailable' });
    await supertest(app).get('/bug').expect(500);
  });
});
