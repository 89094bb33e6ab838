import { describe, expect, it } from 'vitest';
import { DEFAULT_FIT_DEADLINE_CAP_FACTOR, DEFAULT_FIT_ROUND_RETRIES, fitRoundDeadlineSeconds } from '../../coordinator/fit-runner.js';

describe('the wait of a fit round', () => {
  it('is the fit\'s deadline unless the previous round\'s slowest shop took longer, then 1.5 times that', () => {
    expect(fitRoundDeadlineSeconds(120, 8, {})).toBe(120);
    expect(fitRoundDeadlineSeconds(120, 8, { slowestAnswerSeconds: 30 })).toBe(120);
    expect(fitRoundDeadlineSeconds(120, 8, { slowestAnswerSeconds: 80 })).toBe(120);
    expect(fitRoundDeadlineSeconds(120, 8, { slowestAnswerSeconds: 100 })).toBe(150);
    expect(fitRoundDeadlineSeconds(120, 8, { slowestAnswerSeconds: 100.1 })).toBe(151);
  });

  it('doubles for each retry', () => {
    expect([120, 240, 480].map((w) => fitRoundDeadlineSeconds(120, 8, { retriedWaitSeconds: w }))).toEqual([240, 480, 960]);
  });

  it('never exceeds the cap, nor goes below the fit\'s deadline', () => {
    expect(fitRoundDeadlineSeconds(120, 8, { retriedWaitSeconds: 960 })).toBe(960);
    expect(fitRoundDeadlineSeconds(120, 8, { retriedWaitSeconds: 5000 })).toBe(960);
    expect(fitRoundDeadlineSeconds(120, 8, { slowestAnswerSeconds: 86_400 })).toBe(960);
    expect(fitRoundDeadlineSeconds(120, 1, { retriedWaitSeconds: 120 })).toBe(120);
    expect(fitRoundDeadlineSeconds(120, 8, { retriedWaitSeconds: 10 })).toBe(120);
    expect(fitRoundDeadlineSeconds(5, 2.5, { retriedWaitSeconds: 10 })).toBe(12);
  });

  it('has defaults of 3 retries and a cap of 8 times the deadline', () => {
    expect(DEFAULT_FIT_ROUND_RETRIES).toBe(3);
    expect(DEFAULT_FIT_DEADLINE_CAP_FACTOR).toBe(8);
    // The default retries fit under the default cap: 1, 2, 4 and 8 times the deadline.
    let wait = 60;
    for (let i = 0; i < DEFAULT_FIT_ROUND_RETRIES; i++) wait = fitRoundDeadlineSeconds(60, DEFAULT_FIT_DEADLINE_CAP_FACTOR, { retriedWaitSeconds: wait });
    expect(wait).toBe(480);
  });
});
