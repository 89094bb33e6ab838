/**
 * Why a cell was withheld or a query refused, in words a marketer can act
 * on, in English and Simplified Chinese.
 *
 * Every withheld cell of a release carries a {@link SuppressionReasonCode};
 * every failed query or model fit carries a code: the key holder's gRPC
 * error code when it refused, or the coordinator's own. This module is the
 * one catalogue of what those codes mean. Its texts are templates: `{k}`
 * (the purpose's minimum customers per cell), `{m}` (minimum shops), `{p}`
 * (the dominance limit in percent) and `{code}` are filled by
 * {@link explainReason}. The web console holds the same templates in its
 * dictionaries (coordinator/console/i18n.js, keys `why.CODE` and
 * `whyShort.CODE`), checked against this file by a test.
 *
 * @module
 */
import type { SuppressionReasonCode } from './query-definition.js';
import type { ReleaseDocument } from './release-document.js';

/** One text in both languages of the product. */
export interface ReasonText {
  readonly en: string;
  readonly zh: string;
}

/**
 * Values the templates refer to. A missing value leaves its letter in the
 * text ("fewer than k customers"), which still reads correctly.
 */
export interface ReasonParams {
  /** Minimum consented customers per released cell. */
  readonly k?: number | null | undefined;
  /** Minimum contributing shops. */
  readonly m?: number | null | undefined;
  /** Dominance limit: the largest share (percent) one shop may hold of a cell. */
  readonly p?: number | null | undefined;
}

/** Codes of withheld cells, in the order the coordinator reports them. */
export const WITHHELD_REASON_CODES = ['FEWER_THAN_K_SUBJECTS', 'DOMINANCE', 'SECONDARY', 'LEVELS_COLLIDE'] as const satisfies readonly SuppressionReasonCode[];

/**
 * Codes of refused queries and failed fits: every code the key holder sends
 * (its own refusals, disclosure errors, consent attestation errors, model
 * rules and transport faults) and the coordinator's own.
 */
export const REFUSAL_REASON_CODES = [
  // Disclosure control
  'DIFFERENCING',
  'MERCHANT_DIFFERENCING',
  'LEVEL_TOO_FEW_SUBJECTS',
  'SATURATION',
  'POLICY_MISMATCH',
  'BUDGET_EXHAUSTED',
  'TOO_FEW_MERCHANTS',
  'TOO_FEW_SUBJECTS',
  'TOO_MANY_MERCHANTS',
  'ALREADY_RELEASED',
  // The key holder's disclosure configuration and state
  'POLICY_LOOSENED',
  'DISCLOSURE_POLICY_INVALID',
  'DISCLOSURE_STATE_CORRUPT',
  'DISCLOSURE_TERMS_INVALID',
  // A shop's answer
  'INPUT_OUT_OF_BOUNDS',
  'ATTESTATION_MISSING',
  'ATTESTATION_INVALID',
  'ATTESTATION_MISMATCH',
  'ROW_SET_INVALID',
  'MERCHANT_UNVERIFIED',
  'SIGNATURE_INVALID',
  'HEADER_INVALID',
  'CIPHERTEXT_SHAPE',
  'CIPHERTEXT_DIGEST',
  'CIPHERTEXT_INVALID',
  'DUPLICATE_MERCHANT',
  'ROUND_BINDING',
  'LAYOUT_MISMATCH',
  'KEY_MISMATCH',
  // Between the coordinator and the key holder
  'REQUEST_SIGNATURE_INVALID',
  'PARAM_SET_MISMATCH',
  'SPEC_DIGEST_MISMATCH',
  'QUERY_KIND_UNKNOWN',
  'SPEC_INVALID',
  'LAYOUT_INVALID',
  'AGGREGATE_MISMATCH',
  'MALFORMED_MESSAGE',
  'INTERNAL',
  'SEAL_WORKER_FAULT',
  'KEYHOLDER_REFUSED',
  'RELEASE_SIGNATURE_INVALID',
  'RELEASE_MISMATCH',
  // Model fits
  'FIT_CANNOT_CONTINUE',
  'HESSIAN_NOT_POSITIVE_DEFINITE',
] as const;

/** Why a query or a model fit failed (see {@link REFUSAL_REASON_CODES}). */
export type RefusalReasonCode = (typeof REFUSAL_REASON_CODES)[number];

/** Every code the catalogue explains. */
export type DisclosureReasonCode = SuppressionReasonCode | RefusalReasonCode;

const SHOP_ANSWER: ReasonText = {
  en: 'A shop\'s answer failed the key holder\'s checks (signature, encryption or its binding to this query), so nothing was released. This is not caused by your query; ask your administrator to check the shops, then run it again.',
  zh: '某个店铺的答复未通过密钥持有方的校验（签名、加密数据或与本查询的绑定），因此未发布任何结果。这并非您的查询所致；请联系管理员检查店铺后重新运行。',
};

const CONSENT_EVIDENCE: ReasonText = {
  en: 'A shop\'s consent evidence for this purpose did not check out, so nothing was released. Ask your administrator to check that shop\'s consent records and software, then run the query again.',
  zh: '某个店铺针对该目的的同意证明未通过校验，因此未发布任何结果。请联系管理员检查该店铺的同意记录和软件后重新运行查询。',
};

const KEYHOLDER_SETTINGS: ReasonText = {
  en: 'The key holder\'s disclosure settings for this purpose are missing, invalid or looser than before, so nothing was released. Ask your administrator to correct the key holder\'s configuration, then run the query again.',
  zh: '密钥持有方针对该目的的披露设置缺失、无效或比之前更宽松，因此未发布任何结果。请联系管理员修正密钥持有方的配置后重新运行查询。',
};

const TECHNICAL: ReasonText = {
  en: 'A check between the coordinator and the key holder failed, so nothing was released. This is not caused by your query; ask your administrator, then run it again.',
  zh: '协调方与密钥持有方之间的校验未通过，因此未发布任何结果。这并非您的查询所致；请联系管理员后重新运行。',
};

/**
 * The explanation of every code, as templates (see the module comment).
 * Each says what happened and what to do.
 */
export const REASON_TEMPLATES: Readonly<Record<DisclosureReasonCode, ReasonText>> = {
  FEWER_THAN_K_SUBJECTS: {
    en: 'Fewer than {k} customers are behind this cell, so it is not shown. Use a broader grouping or a longer period to see it.',
    zh: '该单元涉及的客户少于 {k} 人，因此不予显示。请使用更宽的分组或更长的时间范围后再查看。',
  },
  DOMINANCE: {
    en: 'One shop may account for more than {p}% of this cell\'s total, so showing it could reveal that shop\'s own figures. Merge it with a neighbouring group, or ask again when more shops take part.',
    zh: '单个店铺可能占该单元总额的 {p}% 以上，公布会暴露该店铺自身的经营数据，因此不予显示。请与相邻分组合并，或待更多店铺参与后再查询。',
  },
  SECONDARY: {
    en: 'Hidden to protect another hidden cell, which could otherwise be worked out from the totals. This cell is not too small itself; a grouping without small cells avoids it.',
    zh: '为保护另一个被隐藏的单元而一并隐藏，否则可由合计推算出那个单元。此单元本身并无问题；改用不含过小单元的分组即可避免。',
  },
  LEVELS_COLLIDE: {
    en: 'This bucket holds two or more different levels, so showing its sums could reveal a small level beside a large one. Run the query again with another salt to separate them.',
    zh: '该分桶包含两个或更多不同的取值，公布其合计可能连带暴露与大取值同桶的小取值，因此不予显示。请换一个 salt 重新运行查询以将它们分开。',
  },
  DIFFERENCING: {
    en: 'The customers behind this query differ from those of an earlier result of the same purpose by fewer than {k}, so comparing the two would single them out. Wait until more customers\' data has changed, or use a purpose with differential privacy (DP).',
    zh: '本次查询涉及的客户与该目的之前某次结果的客户相差不足 {k} 人，两相比较即可识别出这些客户，因此未予发布。请等待更多客户的数据发生变化后再查询，或改用采用差分隐私（DP）的目的。',
  },
  MERCHANT_DIFFERENCING: {
    en: 'The shops behind this query differ from those of an earlier result of the same purpose by fewer than {m}, so comparing the two would reveal those shops\' figures. Ask again when the same shops answer, or when at least {m} shops differ.',
    zh: '本次查询涉及的店铺与该目的之前某次结果的店铺相差不足 {m} 家，两相比较会暴露这些店铺的数据，因此未予发布。请在相同的店铺都答复时再查询，或待至少 {m} 家店铺不同时再查询。',
  },
  LEVEL_TOO_FEW_SUBJECTS: {
    en: 'A level of a model variable, or two variables taken together, holds fewer than {k} customers, so the model would single them out. Drop or merge the variable the reason names, then run it again.',
    zh: '模型中某个变量的某一取值（或两个变量的组合）涉及的客户少于 {k} 人，模型会暴露这些客户，因此未予发布。请删除或合并失败原因中指出的变量后重新运行。',
  },
  SATURATION: {
    en: 'The model has too many parameters for the customers it is fitted on (not below the purpose\'s limit), so it would nearly reproduce individual records. Use fewer variables or levels, or a larger population.',
    zh: '模型参数相对于所用客户数过多（未低于该目的的上限），几乎可以还原个人记录，因此未予发布。请减少变量或取值个数，或扩大客户范围。',
  },
  POLICY_MISMATCH: {
    en: 'The disclosure rules of this purpose differ between the coordinator, the shops and the key holder, so nothing was released. Ask your administrator to register the purpose on the same terms everywhere, then run the query again.',
    zh: '该目的的披露规则在协调方、店铺和密钥持有方之间不一致，因此未发布任何结果。请联系管理员在各方按相同条款登记该目的，然后重新运行查询。',
  },
  BUDGET_EXHAUSTED: {
    en: 'The privacy budget of this purpose is used up, so no further results can be released for it. Reuse results already released, or ask your administrator about a new purpose with its own budget.',
    zh: '该目的的隐私预算已用完，不能再为其发布结果。请复用已发布的结果，或联系管理员设立拥有独立预算的新目的。',
  },
  TOO_FEW_MERCHANTS: {
    en: 'Fewer than {m} shops answered before the deadline, so nothing was decrypted. Run the query again with a later deadline, or when more shops are online.',
    zh: '截止时间前答复的店铺少于 {m} 家，因此未解密任何数据。请设置更晚的截止时间，或在更多店铺在线时重新运行查询。',
  },
  TOO_FEW_SUBJECTS: {
    en: 'The shops together have fewer than {k} consenting customers for this purpose, so nothing was released. Widen the query (a longer period, more shops) or choose another purpose.',
    zh: '各店铺在该目的下同意的客户合计少于 {k} 人，因此未发布任何结果。请扩大查询范围（更长的时间、更多店铺）或选择其他目的。',
  },
  TOO_MANY_MERCHANTS: {
    en: 'More shops answered than the query allows, so nothing was released. Run the query again with a higher maximum number of contributing shops.',
    zh: '答复的店铺多于查询允许的上限，因此未发布任何结果。请提高参与店铺的上限后重新运行查询。',
  },
  ALREADY_RELEASED: {
    en: 'This query was already released from a different set of shops\' answers; a second release could single out a shop, so it was refused. Use the earlier result, or publish a new query.',
    zh: '该查询已基于另一组店铺的答复发布过；再次发布可能暴露单个店铺，因此被拒绝。请使用之前的结果，或发布新的查询。',
  },
  POLICY_LOOSENED: KEYHOLDER_SETTINGS,
  DISCLOSURE_POLICY_INVALID: KEYHOLDER_SETTINGS,
  DISCLOSURE_STATE_CORRUPT: KEYHOLDER_SETTINGS,
  DISCLOSURE_TERMS_INVALID: KEYHOLDER_SETTINGS,
  INPUT_OUT_OF_BOUNDS: {
    en: 'The shops\' answers added up to more than the query\'s declared bounds allow, or to figures that honest answers never add up to (such as more repeat customers than customers), so at least one shop sent values no honest shop sends and nothing was released. Tell your administrator; the shops\' software or data needs checking.',
    zh: '各店铺答复的合计超出了查询声明的上限，或出现了诚实答复不可能合计出的数值（例如复购客户多于客户），说明至少有一个店铺发送了诚实店铺不会发送的数值，因此未发布任何结果。请告知管理员检查店铺的软件或数据。',
  },
  ATTESTATION_MISSING: CONSENT_EVIDENCE,
  ATTESTATION_INVALID: CONSENT_EVIDENCE,
  ATTESTATION_MISMATCH: CONSENT_EVIDENCE,
  ROW_SET_INVALID: SHOP_ANSWER,
  MERCHANT_UNVERIFIED: SHOP_ANSWER,
  SIGNATURE_INVALID: SHOP_ANSWER,
  HEADER_INVALID: SHOP_ANSWER,
  CIPHERTEXT_SHAPE: SHOP_ANSWER,
  CIPHERTEXT_DIGEST: SHOP_ANSWER,
  CIPHERTEXT_INVALID: SHOP_ANSWER,
  DUPLICATE_MERCHANT: SHOP_ANSWER,
  ROUND_BINDING: SHOP_ANSWER,
  LAYOUT_MISMATCH: SHOP_ANSWER,
  KEY_MISMATCH: SHOP_ANSWER,
  REQUEST_SIGNATURE_INVALID: TECHNICAL,
  PARAM_SET_MISMATCH: TECHNICAL,
  SPEC_DIGEST_MISMATCH: TECHNICAL,
  QUERY_KIND_UNKNOWN: TECHNICAL,
  SPEC_INVALID: TECHNICAL,
  LAYOUT_INVALID: TECHNICAL,
  AGGREGATE_MISMATCH: TECHNICAL,
  MALFORMED_MESSAGE: TECHNICAL,
  INTERNAL: TECHNICAL,
  KEYHOLDER_REFUSED: TECHNICAL,
  RELEASE_SIGNATURE_INVALID: TECHNICAL,
  RELEASE_MISMATCH: TECHNICAL,
  SEAL_WORKER_FAULT: {
    en: 'Decryption failed at the key holder for a technical reason, so nothing was released. Run the query again; if it keeps failing, tell your administrator.',
    zh: '密钥持有方因技术原因解密失败，因此未发布任何结果。请重新运行查询；如果持续失败，请告知管理员。',
  },
  FIT_CANNOT_CONTINUE: {
    en: 'The model could not go on from what was released (for example, too few clusters kept at least {k} customers). Try fewer clusters or variables, or a larger population.',
    zh: '模型无法基于已发布的结果继续（例如保留至少 {k} 名客户的聚类太少）。请尝试减少聚类数或变量，或扩大客户范围。',
  },
  HESSIAN_NOT_POSITIVE_DEFINITE: {
    en: 'A round\'s combined curvature matrix (Hessian) was not positive definite, which honest shops\' answers cannot produce, so the fit stopped without taking a step from it and no model was stored. Tell your administrator; a shop\'s software needs checking.',
    zh: '某一轮合并的曲率矩阵（Hessian）不是正定的，诚实店铺的答复不可能产生这种结果，因此拟合在不采用该轮的情况下停止，未保存模型。请告知管理员检查店铺的软件。',
  },
};

/** The explanation of a code the catalogue does not know (`{code}` is filled with it). */
export const GENERIC_REASON_TEMPLATE: ReasonText = {
  en: 'The query failed ({code}); the failure reason has the details. Ask your administrator if it is unclear.',
  zh: '查询失败（{code}），详情见失败原因；如有疑问，请联系管理员。',
};

/** Short labels of withheld cells, for table cells and chart bars (templates). */
export const WITHHELD_LABEL_TEMPLATES: Readonly<Record<SuppressionReasonCode, ReasonText>> = {
  FEWER_THAN_K_SUBJECTS: { en: 'fewer than {k} customers', zh: '客户少于 {k} 人' },
  DOMINANCE: { en: 'one shop dominates', zh: '单店占比过高' },
  SECONDARY: { en: 'protects another cell', zh: '保护其他单元' },
  LEVELS_COLLIDE: { en: 'levels collide', zh: '取值冲突' },
};

/** True when the catalogue has its own explanation for `code`. */
export function isDisclosureReasonCode(code: unknown): code is DisclosureReasonCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(REASON_TEMPLATES, code);
}

/** True for the codes of withheld cells. */
export function isWithheldReasonCode(code: unknown): code is SuppressionReasonCode {
  return typeof code === 'string' && (WITHHELD_REASON_CODES as readonly string[]).includes(code);
}

function valueOf(v: number | null | undefined, letter: string): string {
  return typeof v === 'number' && Number.isFinite(v) ? String(v) : letter;
}

/**
 * Fills `{k}`, `{m}`, `{p}` and `{code}` in `template`; a missing number
 * leaves its letter, unknown placeholders stay as they are.
 */
export function fillReasonTemplate(template: string, params: ReasonParams & { readonly code?: string | undefined } = {}): string {
  return template.replace(/\{(k|m|p|code)\}/g, (_, name: string) => {
    if (name === 'code') return params.code ?? 'code';
    return valueOf(params[name as 'k' | 'm' | 'p'], name);
  });
}

function filled(t: ReasonText, params: ReasonParams & { readonly code?: string | undefined }): ReasonText {
  return { en: fillReasonTemplate(t.en, params), zh: fillReasonTemplate(t.zh, params) };
}

/**
 * What `code` means and what to do, in English and Chinese, with `params`
 * filled in. Any code the catalogue does not know gets the generic text
 * naming the code; a non-string code is named `UNKNOWN`.
 */
export function explainReason(code: string, params: ReasonParams = {}): ReasonText {
  if (isDisclosureReasonCode(code)) return filled(REASON_TEMPLATES[code], params);
  return filled(GENERIC_REASON_TEMPLATE, { ...params, code: typeof code === 'string' && code !== '' ? code : 'UNKNOWN' });
}

/** The short label of a withheld cell's code, with `params` filled in. */
export function withheldLabel(code: SuppressionReasonCode, params: ReasonParams = {}): ReasonText {
  return filled(WITHHELD_LABEL_TEMPLATES[code] ?? WITHHELD_LABEL_TEMPLATES.FEWER_THAN_K_SUBJECTS, params);
}

/** One withheld cell as a stored result lists it. */
export interface WithheldCell {
  /** The cell's name in the release document. */
  readonly cell: string;
  readonly reasonCode: SuppressionReasonCode;
  /** The explanation, filled with `params`. */
  readonly reason: ReasonText;
  /** The values the explanation was filled with (k and p of the release), for rendering it again in another language. */
  readonly params: { readonly k: number | null; readonly p: number | null };
}

/**
 * The withheld cells of a release, in cell order, each with its code and
 * its explanation under the release's k and dominance limit. Cells withheld
 * by releases made before codes existed count as k suppressions.
 */
export function withheldCellsOf(doc: Pick<ReleaseDocument, 'cells'> & { readonly policy?: ReleaseDocument['policy']; readonly disclosure?: ReleaseDocument['disclosure'] }): WithheldCell[] {
  const params = { k: doc.policy?.minSubjects ?? null, p: doc.disclosure?.dominance?.maxSharePercent ?? null };
  const out: WithheldCell[] = [];
  for (const [cell, c] of Object.entries(doc.cells)) {
    if (!c.suppressed) continue;
    const reasonCode = isWithheldReasonCode(c.reasonCode) ? c.reasonCode : 'FEWER_THAN_K_SUBJECTS';
    out.push({ cell, reasonCode, reason: explainReason(reasonCode, params), params });
  }
  return out;
}
