/**
 * Fake personal details for synthetic customers: Chinese-style names,
 * mobile numbers, home cities and ages. They exist so that the loader's
 * dropping of direct identifiers is exercised on realistic exports; none of
 * them is a real person's data.
 *
 * @module
 */
import type { Prng } from './prng.js';

/** Common surnames, most frequent first (weights fall off by rank). */
const SURNAMES = [
  '王', '李', '张', '刘', '陈', '杨', '黄', '赵', '吴', '周', '徐', '孙', '马', '朱', '胡',
  '郭', '何', '高', '林', '罗', '郑', '梁', '谢', '宋', '唐', '许', '韩', '冯', '邓', '曹',
  '彭', '曾', '肖', '田', '董', '袁', '潘', '于', '蒋', '蔡', '余', '杜', '叶', '程', '欧阳',
] as const;
const SURNAME_WEIGHTS = SURNAMES.map((_, i) => 1 / (i + 3));

const GIVEN = [
  '伟', '芳', '娜', '敏', '静', '丽', '强', '磊', '军', '洋', '勇', '艳', '杰', '娟', '涛',
  '明', '超', '秀', '霞', '平', '刚', '桂', '英', '华', '玉', '萍', '红', '鹏', '辉', '建',
  '梓', '涵', '子', '轩', '浩', '宇', '欣', '怡', '雨', '晨', '思', '佳', '嘉', '俊', '婷',
  '博', '文', '睿', '悦', '琪', '昊', '然', '瑶', '诗', '一', '家', '天', '晓', '春', '海',
] as const;

/** A surname plus one or two given-name characters. */
export function fakeName(rng: Prng): string {
  const surname = SURNAMES[rng.weighted(SURNAME_WEIGHTS)] as string;
  const n = rng.chance(0.7) ? 2 : 1;
  let given = '';
  for (let i = 0; i < n; i++) given += rng.pick(GIVEN);
  return surname + given;
}

const MOBILE_PREFIXES = ['130', '131', '132', '135', '136', '137', '138', '139', '150', '151', '152', '157', '158', '159', '166', '176', '177', '178', '180', '182', '185', '186', '187', '188', '189', '191', '199'] as const;

/** An 11-digit mainland mobile number shape (fake: randomly generated). */
export function fakePhone(rng: Prng): string {
  let rest = '';
  for (let i = 0; i < 8; i++) rest += String(rng.int(0, 9));
  return rng.pick(MOBILE_PREFIXES) + rest;
}

/** Regions with their main cities; each shop is based in one region. */
export const REGIONS = {
  华东: ['上海', '杭州', '南京', '苏州', '宁波', '合肥'],
  华南: ['广州', '深圳', '东莞', '佛山', '厦门', '南宁'],
  华北: ['北京', '天津', '石家庄', '太原', '济南', '青岛'],
  西南: ['成都', '重庆', '昆明', '贵阳'],
  华中: ['武汉', '长沙', '郑州', '南昌'],
  东北: ['沈阳', '大连', '哈尔滨', '长春'],
} as const satisfies Record<string, readonly string[]>;

export type Region = keyof typeof REGIONS;
export const REGION_NAMES = Object.keys(REGIONS) as Region[];
const ALL_CITIES: readonly string[] = Object.values(REGIONS).flat();

/** Mostly the shop's own region (first cities most often), sometimes anywhere. */
export function fakeCity(rng: Prng, region: Region): string {
  if (rng.chance(0.15)) return rng.pick(ALL_CITIES);
  const cities = REGIONS[region];
  return cities[rng.weighted(cities.map((_, i) => 1 / (i + 1)))] as string;
}

/** Adult age around a centre, clipped to 18–80. */
export function fakeAge(rng: Prng, centre: number): number {
  return Math.min(80, Math.max(18, Math.round(centre + 11 * rng.normal())));
}
