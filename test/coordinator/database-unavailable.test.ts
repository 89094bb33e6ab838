/**
 * A database that cannot take work now (pool exhausted, connection refused
 * or dropped, server out of connections or shutting down) is a retryable
 * refusal for merchants (gRPC UNAVAILABLE, DATABASE_UNAVAILABLE), never
 * INTERNAL; other driver errors keep their identity.
 */
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { DatabaseUnavailableError, isUniqueViolation, unavailableOr } from '../../coordinator/database-errors.js';
import { ERROR_CODE_METADATA_KEY } from '../../protos/index.js';
import { toServiceStatus } from '../../protos/rpc.js';

function driverError(message: string, code?: string): Error {
  return Object.assign(new Error(message), code === undefined ? {} : { code });
}

const silent = { warn: () => undefined, error: () => undefined };

describe('unavailableOr', () => {
  it.each([
    ['pool exhausted', driverError('timeout exceeded when trying to connect')],
    ['connection refused', driverError('connect ECONNREFUSED 127.0.0.1:5432')],
    ['connection dropped', driverError('Connection terminated unexpectedly')],
    ['too many connections (53300)', driverError('sorry, too many clients already', '53300')],
    ['connection failure (08006)', driverError('connection failure', '08006')],
    ['admin shutdown (57P01)', driverError('terminating connection due to administrator command', '57P01')],
  ])('%s becomes DatabaseUnavailableError', (_name, err) => {
    const out = unavailableOr(err);
    expect(out).toBeInstanceOf(DatabaseUnavailableError);
    expect((out as DatabaseUnavailableError).cause).toBe(err);
  });

  it.each([
    ['unique violation', driverError('duplicate key', '23505')],
    ['syntax error', driverError('syntax error', '42601')],
    ['plain error', new Error('something else')],
    ['not an error', 'text'],
  ])('%s is left as it is', (_name, err) => {
    expect(unavailableOr(err)).toBe(err);
  });

  it('keeps a unique violation recognisable', () => {
    expect(isUniqueViolation(unavailableOr(driverError('duplicate key', '23505')))).toBe(true);
  });
});

describe('toServiceStatus', () => {
  it('answers UNAVAILABLE with DATABASE_UNAVAILABLE for a retryable storage error', () => {
    const s = toServiceStatus(new DatabaseUnavailableError(driverError('timeout exceeded when trying to connect')), silent, 'SubmitContribution');
    expect(s.code).toBe(status.UNAVAILABLE);
    expect(s.metadata?.get(ERROR_CODE_METADATA_KEY)).toEqual(['DATABASE_UNAVAILABLE']);
    expect(s.details).not.toContain('127.0.0.1');
  });

  it('still answers INTERNAL without details for anything else', () => {
    const s = toServiceStatus(new Error('secret internal state'), silent, 'SubmitContribution');
    expect(s.code).toBe(status.INTERNAL);
    expect(s.details).toBe('INTERNAL: internal error');
  });
});
