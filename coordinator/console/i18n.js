// Labels in Chinese (default; compliance wording follows PIPL terms) and
// English. t(key, vars) fills {name} placeholders; a missing key shows as
// itself, and a test checks that every key used exists in both languages.

const LANG_KEY = 'fedmart.lang';

// Why a cell was withheld or a query or fit failed, per reason code: the
// templates of analytics/disclosure-reasons.ts, word for word (a test
// compares them), merged into MESSAGES as why.CODE and whyShort.CODE.
// explain() fills {k}, {m}, {p} and {code}.
const KEYHOLDER_SETTINGS = {
  en: 'The key holder\'s disclosure settings for this purpose are missing, invalid or looser than before, so nothing was released. Ask your administrator to correct the key holder\'s configuration, then run the query again.',
  zh: '密钥持有方针对该目的的披露设置缺失、无效或比之前更宽松，因此未发布任何结果。请联系管理员修正密钥持有方的配置后重新运行查询。',
};
const CONSENT_EVIDENCE = {
  en: 'A shop\'s consent evidence for this purpose did not check out, so nothing was released. Ask your administrator to check that shop\'s consent records and software, then run the query again.',
  zh: '某个店铺针对该目的的同意证明未通过校验，因此未发布任何结果。请联系管理员检查该店铺的同意记录和软件后重新运行查询。',
};
const SHOP_ANSWER = {
  en: 'A shop\'s answer failed the key holder\'s checks (signature, encryption or its binding to this query), so nothing was released. This is not caused by your query; ask your administrator to check the shops, then run it again.',
  zh: '某个店铺的答复未通过密钥持有方的校验（签名、加密数据或与本查询的绑定），因此未发布任何结果。这并非您的查询所致；请联系管理员检查店铺后重新运行。',
};
const TECHNICAL = {
  en: 'A check between the coordinator and the key holder failed, so nothing was released. This is not caused by your query; ask your administrator, then run it again.',
  zh: '协调方与密钥持有方之间的校验未通过，因此未发布任何结果。这并非您的查询所致；请联系管理员后重新运行。',
};

const REASONS = {
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
  OTHER: {
    en: 'The query failed ({code}); the failure reason has the details. Ask your administrator if it is unclear.',
    zh: '查询失败（{code}），详情见失败原因；如有疑问，请联系管理员。',
  },
};

const WITHHELD_LABELS = {
  FEWER_THAN_K_SUBJECTS: { en: 'fewer than {k} customers', zh: '客户少于 {k} 人' },
  DOMINANCE: { en: 'one shop dominates', zh: '单店占比过高' },
  SECONDARY: { en: 'protects another cell', zh: '保护其他单元' },
  LEVELS_COLLIDE: { en: 'levels collide', zh: '取值冲突' },
};

/** `{ 'why.CODE': text }` (or another prefix) of one language from a table of `{ en, zh }`. */
/**
 * The coordinator's HTTP problem codes (coordinator/problems.ts) in both
 * languages: the English is the problem's title word for word (a test
 * holds them together), so a refusal reads in the console's language.
 */
export const PROBLEM_TITLES = {
  UNAUTHENTICATED: { zh: 'API 令牌缺失或无效', en: 'Missing or invalid API token' },
  ROLE_FORBIDDEN: { zh: '您的角色不能使用此功能', en: 'Your role may not use this route' },
  PURPOSE_NOT_GRANTED: { zh: '您未获授权此请求所属的处理目的', en: 'You are not granted the purpose this request is for' },
  NOT_OWN_MERCHANT: { zh: '商家运营只能查看自己的店铺', en: 'Merchant operators may only see their own shop' },
  VALIDATION_FAILED: { zh: '请求与接口定义不符', en: 'The request does not match the schema' },
  QUERY_KIND_UNKNOWN: { zh: '未知的查询类型', en: 'Unknown query kind' },
  QUERY_KIND_INTERNAL: { zh: '此类型是模型拟合的内部步骤，只能由拟合程序创建', en: 'This kind is a step of a model fit; only the fit runner creates it' },
  QUERY_INTERNAL: { zh: '此查询是模型拟合的一轮，其数值只留给拟合程序', en: 'This query is a round of a model fit; its values stay with the fit runner' },
  RELEASE_INTERNAL: { zh: '此发布结果是模型的输入，只公布模型本身', en: 'This release holds a model\'s inputs; only the model is published' },
  QUERY_SPEC_INVALID: { zh: '查询定义无效', en: 'The query specification is invalid' },
  OVERFLOW_RISK: { zh: '声明的上界可能使明文模数溢出', en: 'The declared bounds could wrap the plaintext modulus' },
  PURPOSE_UNKNOWN: { zh: '查询所指的处理目的未登记', en: 'The query names a purpose that is not registered' },
  PIA_MISSING: { zh: '该处理目的没有个人信息保护影响评估记录', en: 'No personal-information impact assessment is recorded for the purpose' },
  FIELD_NOT_ALLOWED: { zh: '查询读取了处理目的允许范围之外的字段', en: 'The query reads a field outside its purpose\'s allow-list' },
  CUTOFF_INVALID: { zh: '同意截止时间不能晚于现在', en: 'The consent cutoff must not be in the future' },
  AUDIT_RANGE_INVALID: { zh: '所请求的审计时间范围无效', en: 'The requested audit range is invalid' },
  PURPOSE_INVALID: { zh: '处理目的或影响评估无效', en: 'The purpose or PIA is invalid' },
  USER_INVALID: { zh: '用户定义无效', en: 'The user definition is invalid' },
  QUERY_NOT_FOUND: { zh: '没有这个查询', en: 'No such query' },
  FIT_NOT_FOUND: { zh: '没有这个模型拟合', en: 'No such model fit' },
  JOB_NOT_FOUND: { zh: '没有这个任务', en: 'No such job' },
  USER_NOT_FOUND: { zh: '没有这个用户', en: 'No such user' },
  MERCHANT_NOT_FOUND: { zh: '没有这个商家', en: 'No such merchant' },
  JOB_NOT_DONE: { zh: '任务尚未成功完成', en: 'The job has not finished successfully' },
  USER_EXISTS: { zh: '已有同一编号的用户', en: 'A user with this id already exists' },
  SELF_REVOKE: { zh: '管理员不能撤销自己的令牌', en: 'An administrator may not revoke their own token' },
  RELEASE_NOT_READY: { zh: '该查询尚无发布结果', en: 'The query has no release yet' },
  NOT_FOUND: { zh: '没有这个接口', en: 'No such route' },
  PAYLOAD_TOO_LARGE: { zh: '请求内容过大', en: 'Request body too large' },
  URI_TOO_LONG: { zh: '路径参数过长', en: 'A path parameter is too long' },
  MALFORMED_REQUEST: { zh: '请求不是合法的 HTTP', en: 'The request is not well-formed HTTP' },
  REQUEST_TIMEOUT: { zh: '请求未按时到达', en: 'The request did not arrive in time' },
  EXPECTATION_FAILED: { zh: '只支持 Expect: 100-continue', en: 'Only Expect: 100-continue is supported' },
  HEADERS_TOO_LARGE: { zh: '请求头过大', en: 'The request headers are too large' },
  UNSUPPORTED_MEDIA_TYPE: { zh: '请以 application/json 发送请求内容', en: 'Send the body as application/json' },
  RATE_LIMITED: { zh: '请求过多，请按 Retry-After 所示时间后重试', en: 'Too many requests; retry after the time in Retry-After' },
  INTERNAL: { zh: '内部错误', en: 'Internal error' },
  PDF_UNAVAILABLE: { zh: '此协调方无法生成 PDF', en: 'PDF rendering is not available on this coordinator' },
  JOB_ABANDONED: { zh: '执行此任务的协调方在完成前已停止，请重新开始', en: 'The coordinator running this job stopped before it finished; start it again' },
  NOT_READY: { zh: '协调方目前无法接受工作，检查项列出了失败的部分', en: 'The coordinator cannot take work now; checks names what is failing' },
};

function keyed(prefix, table, lang) {
  return Object.fromEntries(Object.entries(table).map(([code, text]) => [`${prefix}${code}`, text[lang]]));
}

export const MESSAGES = {
  zh: {
    title: 'fedmart 控制台', skip: '跳到正文', logout: '退出', 'nav.label': '主导航', error: '出错',
    'footer.docs': 'API 参考', 'footer.privacy': '仅显示达到阈值的聚合结果，不含个人信息',
    'nav.queries': '分群查询', 'nav.models': '模型', 'nav.audit': '审计日志', 'nav.consent': '同意证据', 'nav.rights': '权利请求', 'nav.reports': '审计报告',
    'nav.users': '用户', 'nav.registry': '目的与评估', 'nav.merchants': '商家', 'nav.shop': '我的店铺',
    'role.marketer': '营销人员', 'role.compliance': '合规官', 'role.admin': '管理员', 'role.merchant': '商家运营', 'role.bootstrap': '初始管理员',
    'login.title': '登录', 'login.help': '输入管理员发给您的 API 令牌。令牌只保存在本标签页中。', 'login.token': 'API 令牌', 'login.submit': '登录', 'login.bad': '令牌无效或已撤销。', 'login.revoked': '您的令牌已被撤销或已失效，您已退出。请用新的令牌重新登录。',
    'forbidden.title': '无权访问', 'forbidden.body': '您的角色不能使用此页面。',
    suppressed: '已抑制',
    'status.open': '进行中', 'status.closing': '汇总中', 'status.released': '已发布', 'status.failed': '失败', 'status.running': '训练中', 'status.evaluating': '评估中', 'status.done': '完成',
    'job.queued': '排队中', 'job.running': '进行中', 'job.done': '完成', 'job.failed': '失败',
    'step.queued': '等待开始', 'step.signing': '签名检查点和报告包', 'step.verifying': '验证报告包', 'step.rendering-html': '生成 HTML 报告', 'step.rendering-pdf': '生成 PDF 报告', 'step.waiting-for-renderer': '排队等待生成 PDF', 'step.abandoned': '运行它的协调器已停止', 'step.done': '全部完成',
    'kind.segment-stats': '分群统计', 'kind.cohort-retention': '留存与流失', 'kind.ab-lift': 'A/B 提升', 'kind.rfm': 'RFM 分层', 'kind.histogram': '分布直方图', 'kind.funnel': '转化漏斗',
    'kind.linear-regression': '线性回归', 'kind.pca': '主成分分析', 'kind.merchant-benchmark': '商家对标', 'kind.logistic-regression': '逻辑回归（流失倾向）', 'kind.kmeans': 'K 均值聚类', 'kind.gradient-boosted-trees': '梯度提升树',
    'kind.logistic-irls-round': '逻辑回归轮次', 'kind.score-histogram': '模型评估', 'kind.feature-moments': '特征矩', 'kind.kmeans-round': 'K 均值轮次',
    'group.lifecycle_stage': '客户生命周期', 'group.age_band': '年龄段', 'group.city_level': '城市等级',
    'stage.new': '潜在/新客', 'stage.active': '活跃', 'stage.loyal': '忠诚', 'stage.churning': '流失',
    'metric.customers': '客户数', 'metric.repeatCustomers': '复购客户数', 'metric.orders': '订单数', 'metric.repurchaseRate': '复购率', 'metric.orderValueMean': '平均订单金额（元）',
    'metric.orderValueVariance': '订单金额方差', 'metric.meanDaysBetweenOrders': '平均购买间隔（天）',
    'q.new': '新建查询', 'q.purpose': '处理目的', 'q.kind': '查询类型', 'q.segments': '分群维度', 'q.excludeReturned': '不含退换货订单', 'q.spec': '查询规格（JSON）',
    'q.specHelp': '按所选类型编辑；目的必须是您被授权的目的。', 'q.specInvalid': '查询规格不是有效的 JSON。', 'q.options': '更多选项', 'q.target': '目标商家数', 'q.targetHelp': '默认：全部已注册商家',
    'q.minMerchants': '最少商家数 m', 'q.deadline': '截止（秒）', 'q.run': '运行查询', 'q.noPurposes': '您尚未被授权任何处理目的。', 'q.recent': '最近的查询', 'q.none': '暂无。',
    'q.id': '编号', 'q.status': '状态', 'q.merchants': '已答复商家', 'q.created': '创建时间', 'q.query': '查询', 'q.back': '返回查询列表', 'q.requester': '请求人',
    'q.answered': '{n} / {target} 家商家已答复 · {status}', 'q.thresholds': '阈值：至少 {m} 家商家，每个单元至少 {k} 名同意的客户；截止 {deadline}',
    'q.failed': '查询失败', 'q.result': '结果', 'q.metric': '图表指标', 'q.resultTable': '分群结果',
    'q.downloadCsv': '下载 CSV', 'q.downloadJson': '下载 JSON', 'q.retentionTitle': '按首购月份的留存率', 'q.cohort': '客群（首购月）', 'q.monthsSince': '距首购月数',
    'q.churn': '按生命周期的流失', 'q.buyers': '购买客户', 'q.churned': '流失客户', 'q.churnRate': '流失率',
    'q.absoluteLift': '绝对提升', 'q.relativeLift': '相对提升', 'q.liftTitle': '提升及 {c}% 置信区间', 'q.liftSuppressed': '有分组低于阈值，提升不予公布。',
    'q.liftCheckCampaign': '请确认活动编号 {id} 是店铺导出数据中的活动编号：未知的活动没有任何客户。',
    'q.campaignHelp': 'campaignId 请填写店铺导出数据中的活动编号（示例：CMP-2025-618）。', 'q.campaignRequired': 'A/B 提升需要活动编号：请在规格的 campaignId 中填写店铺导出数据中的活动编号。',
    'q.retentionAllWithheld': '所有客群均被隐藏：截至 {asOf}，没有任何客群达到 {k} 位客户。若 asOf 晚于店铺订单数据的结束时间，新客群为空，且最近 churnDays 天内没有订单的买家都会被计为流失（流失率可达 100%）；请选择订单数据范围内的 asOf。',
    'q.arms': '实验组与对照组', 'q.arm': '分组', 'q.successes': '转化数', 'q.rate': '转化率', 'q.treatment': '实验组', 'q.control': '对照组',
    'm.new': '新建模型训练', 'm.kind': '模型类型', 'm.start': '开始训练', 'm.fits': '模型训练', 'm.round': '轮次', 'm.back': '返回模型列表', 'm.fit': '模型训练',
    'm.progress': '第 {round} 轮 · {status}', 'm.model': '模型', 'm.coefficients': '系数', 'm.feature': '特征', 'm.stdError': '标准误', 'm.centroids': '聚类中心', 'm.cluster': '簇',
    'm.size': '规模', 'm.evaluation': '留出集评估', 'm.roc': 'ROC 曲线', 'm.fpr': '假阳性率', 'm.tpr': '真阳性率', 'm.metrics': '评估指标', 'm.metric': '指标', 'm.value': '值',
    'm.accuracy': '准确率', 'm.logLoss': '对数损失', 'm.rows': '评估行数',
    'm.gbtSummary': '梯度提升树', 'm.gbtLabel': '预测目标', 'm.gbtBinary': '二元', 'm.gbtNumeric': '数值', 'm.gbtTrees': '树的数量', 'm.gbtDepth': '最大深度',
    'm.gbtLearningRate': '学习率', 'm.gbtMinLeaf': '每个叶节点最少行数', 'm.gbtTrainingRows': '训练行数', 'm.gbtTreesHeading': '树结构', 'm.gbtTreesRange': '第 {from}–{to} 棵树（共 {n} 棵）', 'm.gbtPrev': '上一页', 'm.gbtNext': '下一页',
    'm.gbtHowToRead': '满足条件的行走“是”分支，其余走“否”分支；叶节点的值相加（再加基准值）即为模型的输出（二元目标为对数几率）。',
    'm.gbtTree': '第 {i} 棵树（共 {n} 棵）', 'm.gbtYes': '是：', 'm.gbtNo': '否：', 'm.gbtLeaf': '叶节点 {value}', 'm.gbtRows': '{n} 行', 'm.gbtOpen': '未完成',
    'm.gbtImportance': '变量重要性（分裂增益合计）', 'm.gbtVariable': '变量', 'm.gbtGain': '增益',
    'rfm.intro': '截至 {asOf}、最近 {days} 天内有订单的同意客户，按最近一次消费（R）、消费频率（F）和消费金额（M）评分，分数越高越好。', 'rfm.heatTitle': '各 R × F 单元的客户数',
    'rfm.allMonetary': '全部金额分（M 合计）', 'rfm.monetaryFilter': '消费金额（M）', 'rfm.recency': '最近一次消费（R）', 'rfm.frequency': '消费频率（F）', 'rfm.monetary': '消费金额（M）',
    'rfm.recencyRange': 'R{score} · {from}–{to} 天前', 'rfm.frequencyRange': 'F{score} · {range} 单', 'rfm.monetaryRange': 'M{score} · ¥{from}–{to}', 'rfm.cell': '单元',
    'rfm.spend': '消费总额', 'rfm.meanSpend': '人均消费', 'rfm.tiers': '核心与普通客户', 'rfm.tier': '分层', 'rfm.tier.core': '核心客户', 'rfm.tier.ordinary': '普通客户',
    'rfm.coreRule': '核心客户：R ≥ {r}、F ≥ {f} 且 M ≥ {m}；其余为普通客户。', 'rfm.partial': '至少 {sum} 人：另有 {n} 个 M 单元未公布（{list}），未计入',
    'hist.title.order_value': '订单金额分布', 'hist.title.purchase_interval': '购买间隔分布', 'hist.x.order_value': '订单金额（元）', 'hist.x.purchase_interval': '相邻两次订单间隔（天）',
    'hist.y.order_value': '订单数', 'hist.y.purchase_interval': '间隔数', 'hist.bin': '区间（含下限，不含上限）', 'hist.total': '合计', 'hist.totals': '合计与均值', 'hist.mean': '均值',
    'hist.percentiles': '分位数估计', 'hist.percentile': '分位数', 'hist.estimate': '估计值', 'hist.within': '误差上限', 'hist.noPercentile': '相关区间未公布，无法估计',
    'feat.withUnit': '{name}（{unit}）', 'feat.orders': '订单数', 'feat.avg_order_value': '平均订单金额', 'feat.return_rate': '退货率', 'feat.tenure_years': '注册时长', 'feat.mean_gap_days': '平均下单间隔',
    'feat.recency_days': '距最近订单', 'feat.frequency': '订单数', 'feat.monetary_yuan': '消费总额', 'feat.avg_order_yuan': '平均订单金额', 'feat.tenure_days': '注册时长',
    'unit.orders': '单', 'unit.yuan': '元', 'unit.percent': '%', 'unit.years': '年', 'unit.days': '天',
    'm.clusterCustomers': '客户数', 'm.centroidChart': '聚类中心：{x} × {y}（圆面积 = 客户数）', 'm.xAxis': '横轴', 'm.yAxis': '纵轴',
    'm.centroidUnits': '表中数值已换算为各特征自身的单位；模型按缩放后的特征聚类（订单数 ÷ 10、金额 ÷ 100、间隔天数 ÷ 30），悬停可见模型中的原值。', 'm.droppedClusters': '{n} 个簇在迭代中变为空簇并被移除。',
    'q.withheldCount': '未公布的单元及原因（{n} 个）', 'm.roundN': '第 {n} 轮', 'm.roundsCount': '{n} 轮', 'm.retry': '第 {attempt} 次尝试失败（{code}，{n} 家商家已答复），已重新发布',
    'pca.explained': '各主成分解释的方差', 'pca.explainedTitle': '各主成分解释的方差占比（{n} 名客户）', 'pca.component': '主成分', 'pca.eigenvalue': '特征值', 'pca.share': '占比', 'pca.cumulative': '累计',
    'pca.loadings': '载荷', 'pca.matrix.correlation': '基于相关矩阵（特征已标准化），{n} 名客户。', 'pca.matrix.covariance': '基于协方差矩阵，{n} 名客户。',
    'pca.suppressed': '客户少于 {k} 人，主成分不予公布。', 'pca.degenerate': '数据退化（例如某个特征为常数），无法计算主成分。',
    'a.title': '审计日志（合规审计）', 'a.checkpoint': '签名检查点', 'a.cpValid': '检查点签名有效（日志大小 {size}）', 'a.cpValidUnpinned': '检查点签名有效（日志大小 {size}），但审计公钥未固定：任何人都能用自己的密钥签出“有效”的日志。请在下方固定审计公钥。', 'a.cpInvalid': '检查点签名无效', 'a.item': '项目', 'a.value': '值',
    'a.origin': '日志来源', 'a.size': '日志大小', 'a.root': '根哈希', 'a.key': '审计公钥', 'a.pinned': '固定公钥', 'a.notPinned': '未固定', 'a.pinMatch': '与固定公钥一致', 'a.pinMismatch': '与固定公钥不一致',
    'a.pinLabel': '固定审计公钥（十六进制）', 'a.pinHelp': '从可信渠道取得的公钥；固定后，与之不符的检查点和报告都不被接受。', 'a.pin': '保存',
    'a.timeline': '时间线', 'a.type': '事件类型', 'a.allTypes': '全部类型', 'a.actor': '操作者', 'a.fromDay': '起始日期', 'a.toDay': '结束日期', 'a.apply': '筛选',
    'a.verifyAll': '验证所显示的条目', 'a.verify': '验证', 'a.verifyOne': '验证第 {seq} 条', 'a.older': '更早的条目', 'a.shown': '显示 {n} 条',
    'a.included': '包含证明有效', 'a.notIncluded': '包含证明无效', 'a.noCheckpoint': '没有可信的检查点', 'a.afterCheckpoint': '在检查点之后',
    'a.verifiedAll': '{ok} / {n} 条已对日志大小 {size} 的签名检查点验证', 
    'event.merchant.enrolled': '商家注册', 'event.purpose.registered': '目的登记', 'event.pia.recorded': '个人信息保护影响评估', 'event.query.created': '查询发布',
    'event.contribution.accepted': '贡献接受', 'event.contribution.rejected': '贡献拒绝', 'event.threshold.suppressed': '阈值抑制', 'event.query.failed': '查询失败',
    'event.release.stored': '结果发布', 'event.export.created': '数据导出', 'event.rights.request': '权利请求', 'event.config.changed': '配置变更', 'event.auth.failed': '认证或授权失败',
    'event.model.stored': '模型保存', 'event.round.incomplete': '轮次缺失', 'event.round.retried': '轮次重试', 'event.fit.failed': '拟合失败', 'event.retention.deleted': '到期删除', 'event.merchant.key-rotated': '商家密钥轮换', 'event.merchant.revoked': '商家吊销',
    'c.title': '同意证据', 'c.intro': '由审计日志（共 {size} 条）推导：各商家签名的同意证明中计入与排除的主体数。', 'c.unknownPurpose': '（范围外创建的查询）',
    'c.registered': '已登记', 'c.unregistered': '未登记', 'c.legalBasis': '合法性基础', 'c.pias': '影响评估', 'c.queries': '已运行查询', 'c.contributions': '贡献数',
    'c.included': '计入（已同意）', 'c.excluded': '排除', 'c.chart': '{purpose}：计入与排除的主体', 'c.noContributions': '尚无贡献。',
    'c.piaTitle': '个人信息保护影响评估', 'c.piaId': '编号', 'c.assessed': '评估日期', 'c.reviewer': '评估人', 'c.retainUntil': '保存至', 'c.summary': '摘要',
    'basis.consent': '同意', 'basis.separate-consent': '单独同意', 'basis.contract': '合同所必需', 'basis.legal-obligation': '法定义务',
    'reason.rights-request': '权利请求', 'reason.no-record': '无同意记录', 'reason.withdrawn': '撤回同意', 'reason.expired': '同意过期', 'reason.not-for-purpose': '非此目的',
    'reason.sensitive-without-separate-consent': '敏感个人信息未单独同意', 'reason.opted-out-personalised-marketing': '拒绝个性化营销',
    'r.title': '个人权利请求登记', 'r.intro': '各店铺已处理的请求，只记录类型和日期，不记录个人。', 'r.total': '共 {n} 件', 'r.byType': '按类型', 'r.register': '登记簿',
    'r.seq': '日志序号', 'r.shop': '店铺', 'r.type': '类型', 'r.day': '日期',
    'a.queryId': '查询编号', 'a.downloadCsv': '下载所显示条目的 CSV', 'a.includedUnpinned': '包含证明有效，但所依据的检查点由未固定的公钥签名',
    'a.verifiedAllUnpinned': '{ok} / {n} 条已对日志大小 {size} 的检查点验证，但该检查点由未固定的公钥签名，任何人都可能签出；请在上方固定审计公钥。',
    'c.introRounds': '由审计日志（共 {size} 条）推导。各店铺每一轮只报告计入了多少名已同意的客户，协调方从不知道是谁，因此跨轮次相加得到的是“主体轮次”（一名客户参与 10 轮就计 10 次），不是人数；不重复的客户数只能给出下限。',
    'c.rounds': '轮次（查询，含模型拟合的每一轮和重试）', 'c.shops': '店铺数',
    'c.subjectRoundsIncluded': '计入（已同意）：主体轮次，{n} 轮相加，不是人数', 'c.subjectRoundsExcluded': '排除：主体轮次，{n} 轮相加，不是人数',
    'c.subjectRoundsIncludedShort': '计入（主体轮次）', 'c.subjectRoundsExcludedShort': '排除（主体轮次）',
    'c.largestRound': '单轮最多计入', 'c.distinctAtLeast': '不重复的已同意客户：至少（各店铺单轮最大值之和）',
    'c.boundsNote': '不重复客户的真实人数介于“至少”一项与主体轮次之间。同时在两家店铺消费的人按店铺分别计数；协调方只收到每轮的计数，无法得出确切的不重复人数。各月的下限不能相加。',
    'c.byMonth': '{purpose}：按月（UTC）', 'c.month': '月份（UTC）', 'c.chartRounds': '{purpose}：计入与排除（主体轮次，{n} 轮相加）', 'c.downloadCsv': '下载按月数据 CSV',
    'r.status': '状态', 'r.received': '收到日期', 'r.dayHandled': '处理日期', 'r.response': '响应时间', 'r.days': '{n} 天',
    'r.status.handled': '已处理', 'r.status.pending': '待处理', 'r.status.unreported': '店铺未报告', 'r.shown': '显示 {n} / {total} 件', 'r.downloadCsv': '下载所显示请求的 CSV', 'r.introStatus': '各店铺收到和已处理的请求：只记录类型和日期，不记录个人。', 'r.byStatus': '全部：已处理 {handled} 件，待处理 {pending} 件，店铺未报告状态 {unreported} 件',
    'r.statusNote': '状态和收到日期由店铺报告（只有日期，不含个人）。“店铺未报告”的请求来自旧版本节点：其日期为处理日期，若报告时尚未处理则为收到日期。',
    'x.unpinnedDetail': '按报告包自带的公钥检查，任何人都可能签出这样的报告包；请在“审计日志”页固定审计公钥。',
    'rights.access': '查阅复制', 'rights.correction': '更正补充', 'rights.deletion': '删除', 'rights.withdrawal': '撤回同意', 'rights.marketing-opt-out': '拒绝个性化营销',
    'x.title': '导出合规审计报告', 'x.intro': '签名的审计报告包：检查点、每条日志的包含证明、登记簿和报告章节；在本页验证后提供 JSON、HTML 和 PDF。',
    'x.from': '起始日期', 'x.to': '结束日期', 'x.export': '导出报告', 'x.result': '导出任务 {id}', 'x.verifying': '正在本页验证…', 'x.verifyingN': '正在验证包含证明 {d} / {n}',
    'x.verified': '已验证：签名检查点、{n} 条包含证明、范围完整性和报告包签名均有效（日志大小 {size}）', 'x.verifiedUnpinned': '已按报告包自带的公钥验证（{n} 条包含证明，日志大小 {size}），但该公钥未固定，不能证明报告出自本协调方。请在“审计日志”页固定审计公钥。', 'x.broken': '验证失败', 'x.checks': '验证项目', 'x.check': '项目', 'x.outcome': '结果', 'x.detail': '说明',
    'x.pass': '通过', 'x.fail': '失败', 'x.check.publicKey': '固定公钥', 'x.check.checkpoint': '检查点签名', 'x.check.entries': '包含证明', 'x.check.completeness': '范围完整性', 'x.check.signature': '报告包签名',
    'x.sectionsNote': '报告章节由条目重新计算的核对由命令 fedmart audit verify 完成。', 'x.server': '协调方的验证：',
    'x.json': '下载 JSON 报告包', 'x.html': '下载 HTML 报告', 'x.pdf': '下载 PDF 报告', 'x.noPdf': '无 PDF', 'x.preview': '报告预览',
    'u.title': '新建用户', 'u.role': '角色', 'u.id': '用户编号', 'u.idHelp': '可选；小写字母、数字、. _ -', 'u.label': '备注', 'u.purposes': '授权的处理目的', 'u.merchant': '店铺编号',
    'u.create': '创建', 'u.created': '已创建用户 {id}。', 'u.token': 'API 令牌', 'u.tokenOnce': '令牌只显示这一次，请安全地交给用户。', 'u.list': '用户', 'u.state': '状态', 'u.revoke': '撤销', 'u.revoked': '已撤销', 'u.self': '当前登录（不能撤销自己）', 'u.confirmRevoke': '撤销用户 {id} 的令牌？立即生效，无法恢复。',
    'g.title': '处理目的与影响评估', 'g.intro': '查询只能使用已登记、且有有效影响评估的目的所允许的字段（合法、正当、必要；最小化）。', 'g.purposes': '处理目的', 'g.fields': '允许字段数',
    'g.retention': '保存天数', 'g.recipients': '接收方',
    's.title': '店铺 {id}', 's.status': '注册状态', 's.merchant': '店铺', 's.enrolled': '注册时间', 's.contributions': '已贡献次数', 's.last': '最近一次贡献', 's.key': '签名公钥摘要',
    's.benchmarks': '对标（跨店聚合）', 's.benchIntro': '您店铺参与过的查询所发布的跨店聚合结果，可与本店自己的数字在本地对比。', 's.noBench': '暂无。', 's.shops': '{n} 家店铺', 's.noShop': '没有关联的店铺。',
    'mc.status': '状态', 'mc.active': '正常', 'mc.revoked': '已撤销', 'mc.action': '操作', 'mc.revoke': '撤销', 'mc.revokeNamed': '撤销商家 {id}', 'mc.none': '尚无已注册的商家。',
    'mc.confirmRevoke': '撤销商家 {id}？此后其贡献将被拒绝，立即生效，无法恢复；已接受的贡献仍然有效。',
    'mc.tokenTitle': '签发注册令牌', 'mc.tokenOffline': '注册令牌在管理员自己的电脑上离线签发（fedmart enrol-token，使用注册机构种子）。控制台从不索取该种子：由协调方提供的网页不应接触它，否则被攻破的协调方可以留下种子并自行注册虚假商家。', 'mc.showCommand': '生成命令', 'mc.runOffline': '在保存注册机构种子的电脑上运行（DIR 为 fedmart init 生成的目录）：',
    'mc.days': '有效天数', 'mc.tokenOnce': '命令只输出一次令牌；请通过可信渠道只交给该商家（启动节点时使用 --enrol-token）。',
    'mc.alreadyEnrolled': '商家 {id} 已注册（或已撤销），新令牌会被拒绝；请使用新的商家编号。',
    'q.withheld': '未公布的单元及原因', 'q.cell': '单元', 'q.why': '原因', 'q.details': '技术详情', 'm.failed': '模型拟合失败',
    ...keyed('why.', REASONS, 'zh'), ...keyed('whyShort.', WITHHELD_LABELS, 'zh'), ...keyed('problem.', PROBLEM_TITLES, 'zh'),
  },
  en: {
    title: 'fedmart console', skip: 'Skip to content', logout: 'Sign out', 'nav.label': 'Main navigation', error: 'Error',
    'footer.docs': 'API reference', 'footer.privacy': 'Only aggregates above the thresholds are shown; no personal data',
    'nav.queries': 'Segment queries', 'nav.models': 'Models', 'nav.audit': 'Audit log', 'nav.consent': 'Consent evidence', 'nav.rights': 'Rights requests', 'nav.reports': 'Audit reports',
    'nav.users': 'Users', 'nav.registry': 'Purposes & PIAs', 'nav.merchants': 'Merchants', 'nav.shop': 'My shop',
    'role.marketer': 'Marketer', 'role.compliance': 'Compliance officer', 'role.admin': 'Administrator', 'role.merchant': 'Merchant operator', 'role.bootstrap': 'bootstrap administrator',
    'login.title': 'Sign in', 'login.help': 'Enter the API token your administrator gave you. It is kept in this browser tab only.', 'login.token': 'API token', 'login.submit': 'Sign in', 'login.bad': 'The token is invalid or revoked.', 'login.revoked': 'Your token was revoked or no longer works, so you were signed out. Sign in with a new token.',
    'forbidden.title': 'Not allowed', 'forbidden.body': 'Your role may not use this page.',
    suppressed: 'suppressed',
    'status.open': 'open', 'status.closing': 'closing', 'status.released': 'released', 'status.failed': 'failed', 'status.running': 'running', 'status.evaluating': 'evaluating', 'status.done': 'done',
    'job.queued': 'queued', 'job.running': 'running', 'job.done': 'done', 'job.failed': 'failed',
    'step.queued': 'waiting to start', 'step.signing': 'signing checkpoint and bundle', 'step.verifying': 'verifying the bundle', 'step.rendering-html': 'rendering the HTML report', 'step.rendering-pdf': 'rendering the PDF report', 'step.waiting-for-renderer': 'waiting for a free PDF renderer', 'step.abandoned': 'the coordinator running it stopped', 'step.done': 'all done',
    'kind.segment-stats': 'Segment statistics', 'kind.cohort-retention': 'Retention and churn', 'kind.ab-lift': 'A/B lift', 'kind.rfm': 'RFM tiers', 'kind.histogram': 'Histogram', 'kind.funnel': 'Conversion funnel',
    'kind.linear-regression': 'Linear regression', 'kind.pca': 'Principal components', 'kind.merchant-benchmark': 'Merchant benchmark', 'kind.logistic-regression': 'Logistic regression (churn propensity)', 'kind.kmeans': 'k-means clustering', 'kind.gradient-boosted-trees': 'Gradient-boosted trees',
    'kind.logistic-irls-round': 'Logistic regression round', 'kind.score-histogram': 'Model evaluation', 'kind.feature-moments': 'Feature moments', 'kind.kmeans-round': 'k-means round',
    'group.lifecycle_stage': 'Customer lifecycle', 'group.age_band': 'Age band', 'group.city_level': 'City level',
    'stage.new': 'Prospect / new', 'stage.active': 'Active', 'stage.loyal': 'Loyal', 'stage.churning': 'Churned',
    'metric.customers': 'Customers', 'metric.repeatCustomers': 'Repeat customers', 'metric.orders': 'Orders', 'metric.repurchaseRate': 'Repurchase rate', 'metric.orderValueMean': 'Mean order value (yuan)',
    'metric.orderValueVariance': 'Order value variance', 'metric.meanDaysBetweenOrders': 'Mean purchase interval (days)',
    'q.new': 'New query', 'q.purpose': 'Purpose', 'q.kind': 'Query kind', 'q.segments': 'Segments', 'q.excludeReturned': 'Leave out returned orders', 'q.spec': 'Query specification (JSON)',
    'q.specHelp': 'Edit for the chosen kind; the purpose must be one you are granted.', 'q.specInvalid': 'The specification is not valid JSON.', 'q.options': 'More options', 'q.target': 'Target merchants', 'q.targetHelp': 'Default: every enrolled merchant',
    'q.minMerchants': 'Minimum merchants m', 'q.deadline': 'Deadline (seconds)', 'q.run': 'Run query', 'q.noPurposes': 'You are not granted any purpose yet.', 'q.recent': 'Recent queries', 'q.none': 'None yet.',
    'q.id': 'Id', 'q.status': 'Status', 'q.merchants': 'Merchants answered', 'q.created': 'Created', 'q.query': 'Query', 'q.back': 'Back to queries', 'q.requester': 'requester',
    'q.answered': '{n} / {target} merchants answered · {status}', 'q.thresholds': 'Thresholds: at least {m} merchants and {k} consented customers per cell; deadline {deadline}',
    'q.failed': 'The query failed', 'q.result': 'Result', 'q.metric': 'Chart metric', 'q.resultTable': 'Segment results',
    'q.downloadCsv': 'Download CSV', 'q.downloadJson': 'Download JSON', 'q.retentionTitle': 'Retention by first-purchase month', 'q.cohort': 'Cohort (first month)', 'q.monthsSince': 'Months since first purchase',
    'q.churn': 'Churn by lifecycle stage', 'q.buyers': 'Buyers', 'q.churned': 'Churned', 'q.churnRate': 'Churn rate',
    'q.absoluteLift': 'Absolute lift', 'q.relativeLift': 'Relative lift', 'q.liftTitle': 'Lift with {c}% confidence intervals', 'q.liftSuppressed': 'An arm is below the threshold; no lift is released.',
    'q.liftCheckCampaign': 'Check that campaign {id} is one the shops exported: a campaign they do not know has no customers in either arm.',
    'q.campaignHelp': 'Set campaignId to a campaign id as the shops export it (example: CMP-2025-618).', 'q.campaignRequired': 'A/B lift needs a campaign: set campaignId in the specification to a campaign id as the shops export it.',
    'q.retentionAllWithheld': 'Every cohort is withheld: none has at least {k} customers as of {asOf}. When asOf lies after the end of the shops\' order history, the cohorts are empty and buyers with no order in the last churnDays days count as churned (up to 100 %); choose an asOf within the history.',
    'q.arms': 'Treatment and control', 'q.arm': 'Arm', 'q.successes': 'Conversions', 'q.rate': 'Conversion rate', 'q.treatment': 'Treatment', 'q.control': 'Control',
    'm.new': 'New model fit', 'm.kind': 'Model kind', 'm.start': 'Start fit', 'm.fits': 'Model fits', 'm.round': 'Round', 'm.back': 'Back to models', 'm.fit': 'Model fit',
    'm.progress': 'Round {round} · {status}', 'm.model': 'Model', 'm.coefficients': 'Coefficients', 'm.feature': 'Feature', 'm.stdError': 'Std. error', 'm.centroids': 'Centroids', 'm.cluster': 'Cluster',
    'm.size': 'Size', 'm.evaluation': 'Held-out evaluation', 'm.roc': 'ROC curve', 'm.fpr': 'false positive rate', 'm.tpr': 'true positive rate', 'm.metrics': 'Evaluation metrics', 'm.metric': 'Metric', 'm.value': 'Value',
    'm.accuracy': 'Accuracy', 'm.logLoss': 'Log-loss', 'm.rows': 'Rows evaluated',
    'm.gbtSummary': 'Gradient-boosted trees', 'm.gbtLabel': 'Label', 'm.gbtBinary': 'binary', 'm.gbtNumeric': 'numeric', 'm.gbtTrees': 'Trees', 'm.gbtDepth': 'Maximum depth',
    'm.gbtLearningRate': 'Learning rate', 'm.gbtMinLeaf': 'Fewest rows per leaf', 'm.gbtTrainingRows': 'Training rows', 'm.gbtTreesHeading': 'Trees', 'm.gbtTreesRange': 'Trees {from}–{to} of {n}', 'm.gbtPrev': 'Earlier trees', 'm.gbtNext': 'Later trees',
    'm.gbtHowToRead': 'Rows meeting a condition take its "yes" branch, the others its "no" branch; the leaf values a row reaches, added to the base margin, are the model\'s output (log-odds for a binary label).',
    'm.gbtTree': 'Tree {i} of {n}', 'm.gbtYes': 'yes:', 'm.gbtNo': 'no:', 'm.gbtLeaf': 'leaf {value}', 'm.gbtRows': '{n} rows', 'm.gbtOpen': 'unfinished',
    'm.gbtImportance': 'Variable importance (total split gain)', 'm.gbtVariable': 'Variable', 'm.gbtGain': 'Gain',
    'rfm.intro': 'Consented customers with an order in the {days} days up to {asOf}, scored by recency (R), frequency (F) and monetary value (M); higher scores are better.', 'rfm.heatTitle': 'Customers per R × F cell',
    'rfm.allMonetary': 'All monetary scores (M summed)', 'rfm.monetaryFilter': 'Monetary (M)', 'rfm.recency': 'Recency (R)', 'rfm.frequency': 'Frequency (F)', 'rfm.monetary': 'Monetary (M)',
    'rfm.recencyRange': 'R{score} · {from}–{to} days ago', 'rfm.frequencyRange': 'F{score} · {range} orders', 'rfm.monetaryRange': 'M{score} · ¥{from}–{to}', 'rfm.cell': 'Cell',
    'rfm.spend': 'Spend', 'rfm.meanSpend': 'Spend per customer', 'rfm.tiers': 'Core and ordinary customers', 'rfm.tier': 'Tier', 'rfm.tier.core': 'Core customers', 'rfm.tier.ordinary': 'Ordinary customers',
    'rfm.coreRule': 'Core: R ≥ {r}, F ≥ {f} and M ≥ {m}; everyone else is ordinary.', 'rfm.partial': 'At least {sum}: {n} more M cells are withheld ({list}) and not counted',
    'hist.title.order_value': 'Order values', 'hist.title.purchase_interval': 'Days between orders', 'hist.x.order_value': 'Order value (yuan)', 'hist.x.purchase_interval': 'Days between consecutive orders',
    'hist.y.order_value': 'Orders', 'hist.y.purchase_interval': 'Intervals', 'hist.bin': 'Range (from, up to but not including)', 'hist.total': 'Total', 'hist.totals': 'Total and mean', 'hist.mean': 'Mean',
    'hist.percentiles': 'Percentile estimates', 'hist.percentile': 'Percentile', 'hist.estimate': 'Estimate', 'hist.within': 'Within', 'hist.noPercentile': 'the bins around it are withheld',
    'feat.withUnit': '{name} ({unit})', 'feat.orders': 'Orders', 'feat.avg_order_value': 'Mean order value', 'feat.return_rate': 'Return rate', 'feat.tenure_years': 'Tenure', 'feat.mean_gap_days': 'Mean gap between orders',
    'feat.recency_days': 'Since last order', 'feat.frequency': 'Orders', 'feat.monetary_yuan': 'Spend', 'feat.avg_order_yuan': 'Mean order value', 'feat.tenure_days': 'Tenure',
    'unit.orders': 'orders', 'unit.yuan': 'yuan', 'unit.percent': '%', 'unit.years': 'years', 'unit.days': 'days',
    'm.clusterCustomers': 'Customers', 'm.centroidChart': 'Centroids: {x} × {y} (circle area = customers)', 'm.xAxis': 'Across', 'm.yAxis': 'Up',
    'm.centroidUnits': 'Values are in each feature\'s own unit; the model clusters scaled features (orders ÷ 10, money ÷ 100, gap days ÷ 30): hover a value for the model\'s own.', 'm.droppedClusters': '{n} clusters became empty during the fit and were dropped.',
    'q.withheldCount': 'Withheld cells and why ({n})', 'm.roundN': 'Round {n}', 'm.roundsCount': '{n} rounds', 'm.retry': 'attempt {attempt} failed ({code}, {n} merchants had answered) and was published again',
    'pca.explained': 'Variance explained per component', 'pca.explainedTitle': 'Share of the variance each component explains ({n} customers)', 'pca.component': 'Component', 'pca.eigenvalue': 'Eigenvalue', 'pca.share': 'Share', 'pca.cumulative': 'Cumulative',
    'pca.loadings': 'Loadings', 'pca.matrix.correlation': 'From the correlation matrix (features standardised), {n} customers.', 'pca.matrix.covariance': 'From the covariance matrix, {n} customers.',
    'pca.suppressed': 'Fewer than {k} customers: no components are released.', 'pca.degenerate': 'The data are degenerate (for example a constant feature): no components can be computed.',
    'a.title': 'Audit log (compliance audit)', 'a.checkpoint': 'Signed checkpoint', 'a.cpValid': 'Checkpoint signature valid (log size {size})', 'a.cpValidUnpinned': 'Checkpoint signature valid (log size {size}), but the audit key is not pinned: anyone can sign a "valid" log with a key of their own. Pin the audit key below.', 'a.cpInvalid': 'Checkpoint signature invalid', 'a.item': 'Item', 'a.value': 'Value',
    'a.origin': 'Log origin', 'a.size': 'Log size', 'a.root': 'Root hash', 'a.key': 'Audit public key', 'a.pinned': 'Pinned key', 'a.notPinned': 'not pinned', 'a.pinMatch': 'matches the pinned key', 'a.pinMismatch': 'differs from the pinned key',
    'a.pinLabel': 'Pin the audit public key (hex)', 'a.pinHelp': 'Take it from a trusted channel; once pinned, checkpoints and reports under any other key are refused.', 'a.pin': 'Save',
    'a.timeline': 'Timeline', 'a.type': 'Event type', 'a.allTypes': 'All types', 'a.actor': 'Actor', 'a.fromDay': 'From', 'a.toDay': 'To', 'a.apply': 'Filter',
    'a.verifyAll': 'Verify the entries shown', 'a.verify': 'Verify', 'a.verifyOne': 'Verify entry {seq}', 'a.older': 'Older entries', 'a.shown': '{n} entries shown',
    'a.included': 'inclusion proof valid', 'a.notIncluded': 'inclusion proof INVALID', 'a.noCheckpoint': 'no trusted checkpoint', 'a.afterCheckpoint': 'after the checkpoint',
    'a.verifiedAll': '{ok} / {n} entries verified against the signed checkpoint of size {size}',
    'event.merchant.enrolled': 'Merchant enrolled', 'event.purpose.registered': 'Purpose registered', 'event.pia.recorded': 'Impact assessment recorded', 'event.query.created': 'Query published',
    'event.contribution.accepted': 'Contribution accepted', 'event.contribution.rejected': 'Contribution refused', 'event.threshold.suppressed': 'Cells suppressed', 'event.query.failed': 'Query failed',
    'event.release.stored': 'Result released', 'event.export.created': 'Data exported', 'event.rights.request': 'Rights request', 'event.config.changed': 'Configuration changed', 'event.auth.failed': 'Authentication or authorisation failed',
    'event.model.stored': 'Model stored', 'event.round.incomplete': 'Round incomplete', 'event.round.retried': 'Round retried', 'event.fit.failed': 'Fit failed', 'event.retention.deleted': 'Deleted after retention', 'event.merchant.key-rotated': 'Merchant key rotated', 'event.merchant.revoked': 'Merchant revoked',
    'c.title': 'Consent evidence', 'c.intro': 'Derived from the audit log ({size} entries): subjects included and excluded in the shops\u2019 signed consent attestations.', 'c.unknownPurpose': '(queries created before the range)',
    'c.registered': 'registered', 'c.unregistered': 'not registered', 'c.legalBasis': 'Legal basis', 'c.pias': 'Impact assessments', 'c.queries': 'Queries run', 'c.contributions': 'Contributions',
    'c.included': 'Included (consented)', 'c.excluded': 'Excluded', 'c.chart': '{purpose}: subjects included and excluded', 'c.noContributions': 'No contributions yet.',
    'c.piaTitle': 'Personal-information impact assessments', 'c.piaId': 'Id', 'c.assessed': 'Assessed', 'c.reviewer': 'Reviewer', 'c.retainUntil': 'Kept until', 'c.summary': 'Summary',
    'basis.consent': 'Consent', 'basis.separate-consent': 'Separate consent', 'basis.contract': 'Contract', 'basis.legal-obligation': 'Legal obligation',
    'reason.rights-request': 'rights request', 'reason.no-record': 'no consent record', 'reason.withdrawn': 'consent withdrawn', 'reason.expired': 'consent expired', 'reason.not-for-purpose': 'not for this purpose',
    'reason.sensitive-without-separate-consent': 'sensitive PI without separate consent', 'reason.opted-out-personalised-marketing': 'opted out of personalised marketing',
    'r.title': 'Register of data-subject rights requests', 'r.intro': 'Requests the shops handled: type and day only, never the person.', 'r.total': '{n} requests', 'r.byType': 'By type', 'r.register': 'Register',
    'r.seq': 'Log seq', 'r.shop': 'Shop', 'r.type': 'Type', 'r.day': 'Day',
    'a.queryId': 'Query id', 'a.downloadCsv': 'Download CSV of the entries shown', 'a.includedUnpinned': 'inclusion proof valid, but against a checkpoint signed by a key nobody pinned',
    'a.verifiedAllUnpinned': '{ok} / {n} entries verified against the checkpoint of size {size}, but that checkpoint is signed by a key nobody pinned, which anyone could have made: pin the audit key above.',
    'c.introRounds': 'Derived from the audit log ({size} entries). Each round, a shop reports only how many consented customers it included, and the coordinator never learns who; summed over rounds this counts subject-rounds (a customer in 10 rounds counts 10 times), not people. The number of distinct customers can only be bounded from below.',
    'c.rounds': 'Rounds (queries, including every round of a model fit and every retry)', 'c.shops': 'Shops',
    'c.subjectRoundsIncluded': 'Included (consented): subject-rounds summed over {n} rounds, not people', 'c.subjectRoundsExcluded': 'Excluded: subject-rounds summed over {n} rounds, not people',
    'c.subjectRoundsIncludedShort': 'Included (subject-rounds)', 'c.subjectRoundsExcludedShort': 'Excluded (subject-rounds)',
    'c.largestRound': 'Most included in a single round', 'c.distinctAtLeast': 'Distinct consented customers: at least (each shop\u2019s largest round, summed)',
    'c.boundsNote': 'The true number of distinct customers lies between the "at least" figure and the subject-rounds. A person who buys at two shops counts once per shop; from per-round counts alone the coordinator cannot derive the exact number. Monthly lower bounds do not add up.',
    'c.byMonth': '{purpose}: by month (UTC)', 'c.month': 'Month (UTC)', 'c.chartRounds': '{purpose}: included and excluded (subject-rounds summed over {n} rounds)', 'c.downloadCsv': 'Download CSV by month',
    'r.status': 'Status', 'r.received': 'Received', 'r.dayHandled': 'Handled', 'r.response': 'Response time', 'r.days': '{n} days',
    'r.status.handled': 'handled', 'r.status.pending': 'pending', 'r.status.unreported': 'not reported by the shop', 'r.shown': '{n} of {total} requests shown', 'r.downloadCsv': 'Download CSV of the requests shown', 'r.introStatus': 'Requests the shops received and handled: type and days only, never the person.', 'r.byStatus': 'All: {handled} handled, {pending} pending, {unreported} without a reported status',
    'r.statusNote': 'Status and day received are reported by the shops (days only, never the person). Requests "not reported by the shop" come from older nodes: their day is the day handled, or the day received if still pending when reported.',
    'x.unpinnedDetail': 'Checked against the key the bundle carries, with which anyone could have signed it: pin the audit key on the audit log page.',
    'rights.access': 'Access', 'rights.correction': 'Correction', 'rights.deletion': 'Deletion', 'rights.withdrawal': 'Consent withdrawal', 'rights.marketing-opt-out': 'Marketing opt-out',
    'x.title': 'Export a compliance audit report', 'x.intro': 'A signed bundle: checkpoint, an inclusion proof for every entry, registers and report sections; verified in this page before JSON, HTML and PDF are offered.',
    'x.from': 'From', 'x.to': 'To', 'x.export': 'Export report', 'x.result': 'Export job {id}', 'x.verifying': 'Verifying in this page…', 'x.verifyingN': 'Checking inclusion proofs {d} / {n}',
    'x.verified': 'Verified: signed checkpoint, {n} inclusion proofs, no entry of the range left out, and the bundle signature all check out (log size {size})', 'x.verifiedUnpinned': 'Verified against the key the bundle carries ({n} inclusion proofs, log size {size}), but that key is not pinned, so this does not prove the report comes from this coordinator. Pin the audit key on the audit log page.', 'x.broken': 'Verification FAILED', 'x.checks': 'Checks', 'x.check': 'Check', 'x.outcome': 'Outcome', 'x.detail': 'Detail',
    'x.pass': 'pass', 'x.fail': 'fail', 'x.check.publicKey': 'Pinned key', 'x.check.checkpoint': 'Checkpoint signature', 'x.check.entries': 'Inclusion proofs', 'x.check.completeness': 'No entry of the range left out', 'x.check.signature': 'Bundle signature',
    'x.sectionsNote': 'Recomputing the report sections from the entries is done by fedmart audit verify.', 'x.server': 'The coordinator\u2019s own check:',
    'x.json': 'Download JSON bundle', 'x.html': 'Download HTML report', 'x.pdf': 'Download PDF report', 'x.noPdf': 'No PDF', 'x.preview': 'Report preview',
    'u.title': 'New user', 'u.role': 'Role', 'u.id': 'User id', 'u.idHelp': 'Optional; lower-case letters, digits, . _ -', 'u.label': 'Note', 'u.purposes': 'Granted purposes', 'u.merchant': 'Shop id',
    'u.create': 'Create', 'u.created': 'Created user {id}.', 'u.token': 'API token', 'u.tokenOnce': 'The token is shown only this once; hand it to the user securely.', 'u.list': 'Users', 'u.state': 'State', 'u.revoke': 'Revoke', 'u.revoked': 'revoked', 'u.self': 'signed in (you cannot revoke yourself)', 'u.confirmRevoke': 'Revoke the token of user {id}? This takes effect at once and cannot be undone.',
    'g.title': 'Purposes and impact assessments', 'g.intro': 'Queries may only read fields allowed by a registered purpose with an impact assessment in force (lawful, legitimate, necessary; minimisation).', 'g.purposes': 'Purposes', 'g.fields': 'Allowed fields',
    'g.retention': 'Retention (days)', 'g.recipients': 'Recipients',
    's.title': 'Shop {id}', 's.status': 'Enrolment', 's.merchant': 'Shop', 's.enrolled': 'Enrolled', 's.contributions': 'Contributions', 's.last': 'Last contribution', 's.key': 'Signing key digest',
    's.benchmarks': 'Benchmarks (cross-shop aggregates)', 's.benchIntro': 'Released cross-shop aggregates of queries your shop took part in, to compare with your own figures locally.', 's.noBench': 'None yet.', 's.shops': '{n} shops', 's.noShop': 'No shop is linked to you.',
    'mc.status': 'Status', 'mc.active': 'active', 'mc.revoked': 'revoked', 'mc.action': 'Action', 'mc.revoke': 'Revoke', 'mc.revokeNamed': 'Revoke merchant {id}', 'mc.none': 'No merchant has enrolled yet.',
    'mc.confirmRevoke': 'Revoke merchant {id}? Its later contributions are refused from now on and this cannot be undone; contributions already accepted stay valid.',
    'mc.tokenTitle': 'Issue an enrolment token', 'mc.tokenOffline': 'Enrolment tokens are made offline on the administrator\'s own machine (fedmart enrol-token, with the enrolment authority\'s seed). The console never asks for that seed: a page the coordinator serves must not touch it, or a compromised coordinator could keep the seed and enrol shops of its own.', 'mc.showCommand': 'Show the command', 'mc.runOffline': 'Run on the machine that keeps the enrolment authority\'s seed (DIR: the folder fedmart init made):',
    'mc.days': 'Valid for (days)', 'mc.tokenOnce': 'The command prints the token once; hand it to that merchant only, over a channel you trust (its node starts with --enrol-token).',
    'mc.alreadyEnrolled': 'Merchant {id} is already enrolled (or revoked); a new token would be refused. Use a new merchant id.',
    'q.withheld': 'Withheld cells and why', 'q.cell': 'Cell', 'q.why': 'Why', 'q.details': 'Technical details', 'm.failed': 'The model fit failed',
    ...keyed('why.', REASONS, 'en'), ...keyed('whyShort.', WITHHELD_LABELS, 'en'), ...keyed('problem.', PROBLEM_TITLES, 'en'),
  },
};

export function getLang() {
  try {
    return localStorage.getItem(LANG_KEY) === 'en' ? 'en' : 'zh';
  } catch {
    return 'zh';
  }
}

export function setLang(lang) {
  localStorage.setItem(LANG_KEY, lang === 'en' ? 'en' : 'zh');
}

/** The label `key` in the current language, with `{name}` filled from `vars`. */
export function t(key, vars = {}, lang = getLang()) {
  const text = MESSAGES[lang][key] ?? MESSAGES.zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? String(vars[k]) : `{${k}}`));
}

/** `{k}`, `{m}`, `{p}` of a reason: a missing value shows its letter, as the catalogue does. */
function reasonVars(vars, code) {
  const v = (x, letter) => (typeof x === 'number' && Number.isFinite(x) ? x : letter);
  return { k: v(vars.k, 'k'), m: v(vars.m, 'm'), p: v(vars.p, 'p'), code: code || 'UNKNOWN' };
}

/**
 * What reason `code` (a withheld cell's or a failed query's) means and what
 * to do, in `lang`, filled from `vars` ({ k, m, p }); a code without an
 * entry gets the generic text naming it.
 */
export function explain(code, vars = {}, lang = getLang()) {
  const key = `why.${code}`;
  return t(key in MESSAGES[lang] ? key : 'why.OTHER', reasonVars(vars, code), lang);
}

/** The short label of a withheld cell's code in `lang` (for table cells and chart bars); "suppressed" for an unknown code. */
export function withheldLabel(code, vars = {}, lang = getLang()) {
  const key = `whyShort.${code}`;
  return t(key in MESSAGES[lang] ? key : 'suppressed', reasonVars(vars, code), lang);
}

/**
 * What a failed query or fit (its view: statusCode, explanation,
 * statusReason) means and what to do, in `lang`: the coordinator's
 * explanation of its code, else the console's own for the code filled from
 * `vars`, else the coordinator's words.
 */
export function failureText(v, vars = {}, lang = getLang()) {
  const ex = v.explanation;
  if (ex && typeof ex.en === 'string' && typeof ex.zh === 'string') return lang === 'en' ? ex.en : ex.zh;
  if (v.statusCode) return explain(v.statusCode, vars, lang);
  return v.statusReason ?? '';
}

const locale = () => (getLang() === 'en' ? 'en-GB' : 'zh-CN');

export const fmt = {
  num(v) {
    if (v === null || v === undefined) return '—';
    return Number.isInteger(v) ? v.toLocaleString(locale()) : v.toLocaleString(locale(), { maximumFractionDigits: 2 });
  },
  pct(v) {
    return v === null || v === undefined ? '—' : `${(v * 100).toFixed(1)}%`;
  },
  time(iso) {
    return iso ? new Date(iso).toLocaleString(locale(), { hour12: false }) : '—';
  },
  day(iso) {
    return iso ? String(iso).slice(0, 10) : '—';
  },
};
