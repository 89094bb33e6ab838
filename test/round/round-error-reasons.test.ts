/**
 * Every code the round can refuse with reaches a marketer as a failed query
 * or fit, so each must have an explanation in the failure-reason catalogue
 * (and so in the console's dictionaries, which another test ties to it).
 */
import { describe, expect, it } from 'vitest';
import { REFUSAL_REASON_CODES } from '../../analytics/disclosure-reasons.js';
import { ROUND_ERRORS } from '../../round/errors.js';

describe('round error codes in the failure-reason catalogue', () => {
  it.each(Object.keys(ROUND_ERRORS))('%s has an explanation', (code) => {
    expect(REFUSAL_REASON_CODES as readonly string[]).toContain(code);
  });
});
