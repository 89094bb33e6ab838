/**
 * The round: what the shop, the coordinator and the key holder each do with
 * one query, in one place. Terms derived once from the query
 * (`RoundTerms`), the shop's side (`contribute`), the one contribution
 * check both aggregators run (`checkContribution` and its steps), the
 * release document built, signed, opened and finalised (release.ts), and
 * the table of round error codes with their gRPC mapping.
 */
export { ROUND_ERRORS, RoundError, type RoundErrorCode } from './errors.js';
export { RoundTerms, definitionOf, parsedSpec, stageContributors, MAX_ROUND_CONTRIBUTORS } from './round-terms.js';
export {
  checkBinding,
  checkCiphertextShape,
  checkCiphertexts,
  checkContribution,
  checkSignature,
  contributionAttestation,
  contributionDigest,
  type RoundBinding,
} from './check-contribution.js';
export {
  DeclinedError,
  attestationFor,
  contribute,
  localStatistic,
  signedHeader,
  type LocalStatistic,
  type ShopSide,
  type SignedContribution,
} from './contribute.js';
export { buildReleaseDocument, finaliseRelease, openRelease, releaseDigest, signRelease, verifyReleaseSignature, type ReleaseContents } from './release.js';
export { roundView } from './round-view.js';
export { rpcErrorOf } from './rpc.js';
