/**
 * Public surface of the wire protocol: generated message codecs and gRPC
 * service definitions for `fedmart.v1`. Regenerate with `npm run proto:gen`.
 */
export * from './gen/fedmart/v1/merchant.js';
export {
  KeyHolderServiceService,
  KeyHolderServiceClient,
  type KeyHolderServiceServer,
  ReleaseHeader,
  ReleaseContribution,
  ReleasePart,
  SignedRelease,
} from './gen/fedmart/v1/keyholder.js';
export * from './rpc.js';
export * from './rpc-ids.js';
export { escapeUntrusted, quoteUntrusted, UNTRUSTED_ECHO_MAX } from './untrusted-text.js';
export * from './tls.js';
export { envelopeOf } from './envelope.js';
export { checkPublicKeyBundle } from './public-key-bundle.js';
export { rightsReportDigest, RIGHTS_REPORT_DOMAIN } from './rights-report.js';
export {
  keyEvidenceToWire,
  keyEvidenceFromWire,
  keyRotationToWire,
  keyRotationFromWire,
  releaseRequestDigest,
  signReleaseRequest,
  RELEASE_REQUEST_DOMAIN,
} from './key-evidence.js';
