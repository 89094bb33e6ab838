/**
 * Public surface of the wire protocol: generated message codecs and gRPC
 * service definitions for `fedmart.v1` (regenerate with `npm run proto:gen`),
 * and the helpers around them: gRPC handlers and errors, id checks, TLS
 * credentials, untrusted-text escaping, and the envelope, public-key bundle,
 * rights-report and key-evidence conversions the processes sign and check.
 */
export * from './gen/fedmart/v1/merchant.js';
export {
  KeyHolderServiceService,
  KeyHolderServiceClient,
  type KeyHolderServiceServer,
  ReleaseHeader,
  ReleasePart,
  SignedRelease,
} from './gen/fedmart/v1/keyholder.js';
export {
  ERROR_CODE_METADATA_KEY,
  RpcError,
  hardenService,
  unaryHandler,
  clientStreamHandler,
  readStream,
  errorCodeOf,
  callUnary,
  type RpcLogger,
} from './rpc.js';
export { isRpcId, checkRpcId } from './rpc-ids.js';
export { quoteUntrusted } from './untrusted-text.js';
export {
  isLoopbackHost,
  hostOfAddress,
  assertPlaintextAllowed,
  grpcServerCredentials,
  grpcClientCredentials,
  type Pem,
  type ServerTls,
  type ClientTls,
} from './tls.js';
export { envelopeOf } from './envelope.js';
export { checkPublicKeyBundle } from './public-key-bundle.js';
export { rightsReportDigest } from './rights-report.js';
export { modelRequestDigest } from './model-request.js';
export { keyEvidenceToWire, keyEvidenceFromWire, keyRotationToWire, keyRotationFromWire, releaseRequestDigest, signReleaseRequest } from './key-evidence.js';
