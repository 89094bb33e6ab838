/**
 * The statement a merchant signs when it asks for a fitted model
 * (`GetModel`): its id, the model's id, the time and a fresh nonce. Models
 * are released results of the fit's purpose; the coordinator hands them to
 * enrolled, unrevoked shops only, and the signature shows the request comes
 * from one (not from anyone who learnt a fit id).
 */
import { statementDigest } from '../crypto/index.js';
import type { GetModelRequest } from './gen/fedmart/v1/merchant.js';

export const MODEL_REQUEST_DOMAIN = 'fedmart/v1/model-request';

export function modelRequestDigest(r: Pick<GetModelRequest, 'merchantId' | 'modelId' | 'createdUnixMs' | 'nonce'>): Uint8Array {
  return statementDigest(MODEL_REQUEST_DOMAIN, [r.merchantId, r.modelId, r.createdUnixMs, r.nonce]);
}
