/**
 * The contribution intake, counted: every SubmitContribution call ends as
 * one accepted or one refused contribution in the coordinator's metrics,
 * refusals by the stable code the merchant was told. Kept apart from the
 * intake so the checks there stay about contributions only.
 */
import type { ServerReadableStream } from '@grpc/grpc-js';
import { RpcError, type ContributionChunk, type SubmitContributionResponse } from '../protos/index.js';
import { ContributionIntake } from './contribution-intake.js';
import type { CoordinatorMetrics } from './metrics.js';

/** The code a refusal is counted under: the RpcError's code, a storage error's own code, else INTERNAL. */
export function refusalCodeOf(err: unknown): string {
  if (err instanceof RpcError) return err.code;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(code) ? code : 'INTERNAL';
}

export class MeteredContributionIntake extends ContributionIntake {
  constructor(private readonly metrics: CoordinatorMetrics, ...args: ConstructorParameters<typeof ContributionIntake>) {
    super(...args);
  }

  override async submit(call: ServerReadableStream<ContributionChunk, SubmitContributionResponse>): Promise<SubmitContributionResponse> {
    try {
      const receipt = await super.submit(call);
      this.metrics.contributionAccepted();
      return receipt;
    } catch (err) {
      this.metrics.contributionRefused(refusalCodeOf(err));
      throw err;
    }
  }
}
