import { z } from 'zod';
import { defineNode, type VariableUse } from '../node-definition.ts';
import { isEmptyValue, type VarType } from '../value-types.ts';
import { renderValue } from '../variables.ts';

/**
 * If / else-if / else on variables. Cases are tried in order; the first whose conditions hold
 * (all of them for `and`, any for `or`) gives the branch, and `false` is the else branch. The
 * short form `{ conditions, logical_operator }` is one case with the id `true`, i.e. an if/else
 * with handles `true` and `false`.
 */

const OPERATORS = [
  'equals',
  'not_equals',
  'contains',
  'not_contains',
  'starts_with',
  'ends_with',
  'is_empty',
  'not_empty',
  'gt',
  'gte',
  'lt',
  'lte',
] as const;
type Operator = (typeof OPERATORS)[number];
const UNARY: ReadonlySet<Operator> = new Set(['is_empty', 'not_empty']);

/** What each operator can compare, so `gt` on a list is refused when the workflow is saved. */
const ACCEPTS: Record<Operator, readonly VarType[]> = {
  equals: ['string', 'number', 'boolean'],
  not_equals: ['string', 'number', 'boolean'],
  contains: ['string', 'array[any]'],
  not_contains: ['string', 'array[any]'],
  starts_with: ['string'],
  ends_with: ['string'],
  is_empty: ['any'],
  not_empty: ['any'],
  gt: ['number', 'string'],
  gte: ['number', 'string'],
  lt: ['number', 'string'],
  lte: ['number', 'string'],
};

const Condition = z
  .object({
    /** A reference such as `{{classifier_1.class_id}}`. */
    variable: z.string().min(1).max(200),
    operator: z.enum(OPERATORS),
    /** Compared with; a string may contain references. */
    value: z.union([z.string().max(2000), z.number(), z.boolean()]).optional(),
    ignore_case: z.boolean().default(false),
  })
  .refine((c) => UNARY.has(c.operator) || c.value !== undefined, {
    message: 'value is required for this operator',
    path: ['value'],
  });
type Condition = z.output<typeof Condition>;

const CaseId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[\w-]+$/, 'letters, digits, _ and - only')
  .refine((id) => id !== 'false', '"false" is the else branch');
const Case = z.object({
  id: CaseId,
  logical_operator: z.enum(['and', 'or']).default('and'),
  conditions: z.array(Condition).min(1).max(20),
});

const ConditionConfig = z
  .object({
    cases: z.array(Case).min(1).max(20).optional(),
    conditions: z.array(Condition).min(1).max(20).optional(),
    logical_operator: z.enum(['and', 'or']).default('and'),
  })
  .superRefine((c, ctx) => {
    if ((c.cases === undefined) === (c.conditions === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give either cases or conditions', path: ['cases'] });
    }
    const ids = (c.cases ?? []).map((k) => k.id);
    if (new Set(ids).size !== ids.length)
      ctx.addIssue({ code: 'custom', message: 'case ids must differ', path: ['cases'] });
  })
  .transform((c) => ({
    cases: c.cases ?? [{ id: 'true', logical_operator: c.logical_operator, conditions: c.conditions ?? [] }],
  }));

export const conditionNode = defineNode({
  type: 'condition',
  description: 'Branches on variables: the first matching case, else "false"',
  configSchema: ConditionConfig,
  branches: (c) => [...c.cases.map((k) => k.id), 'false'],
  outputs: () => ({ branch: 'string' }),
  uses: (c) =>
    c.cases.flatMap((k, i) =>
      k.conditions.flatMap((cond, j): VariableUse[] => {
        const at = `cases[${i}].conditions[${j}]`;
        const uses: VariableUse[] = [
          { field: `${at}.variable`, kind: 'reference', text: cond.variable, accepts: ACCEPTS[cond.operator] },
        ];
        if (typeof cond.value === 'string') uses.push({ field: `${at}.value`, kind: 'template', text: cond.value });
        return uses;
      }),
    ),
  async run(config, ctx) {
    const evaluated: Array<Record<string, unknown>> = [];
    let branch = 'false';
    for (const k of config.cases) {
      const results = k.conditions.map((cond) => {
        const actual = ctx.resolve(cond.variable);
        const expected = typeof cond.value === 'string' ? ctx.render(cond.value) : cond.value;
        const result = evaluateCondition(cond, actual, expected);
        evaluated.push({ case: k.id, variable: cond.variable, operator: cond.operator, actual, expected, result });
        return result;
      });
      if (k.logical_operator === 'and' ? results.every(Boolean) : results.some(Boolean)) {
        branch = k.id;
        break;
      }
    }
    return { branch, outputs: { branch }, details: { evaluated } };
  },
});

/**
 * One comparison. Text comparisons use the value as it reads in a template; numeric ones accept
 * numbers and numeric text, and are false when either side is not a number.
 */
export function evaluateCondition(
  cond: Pick<Condition, 'operator' | 'ignore_case'>,
  actual: unknown,
  expected: string | number | boolean | undefined,
): boolean {
  const fold = (s: string) => (cond.ignore_case ? s.toLowerCase() : s);
  const text = fold(renderValue(actual));
  const want = fold(renderValue(expected));
  switch (cond.operator) {
    case 'is_empty':
      return isEmptyValue(actual);
    case 'not_empty':
      return !isEmptyValue(actual);
    case 'equals':
    case 'not_equals': {
      const a = toNumber(actual);
      const b = toNumber(expected);
      const same = typeof actual === 'number' && a !== undefined && b !== undefined ? a === b : text === want;
      return cond.operator === 'equals' ? same : !same;
    }
    case 'contains':
    case 'not_contains': {
      const has = Array.isArray(actual)
        ? actual.some((item) => fold(renderValue(item)) === want)
        : typeof actual === 'string' && text.includes(want);
      return cond.operator === 'contains' ? has : !has;
    }
    case 'starts_with':
      return typeof actual === 'string' && text.startsWith(want);
    case 'ends_with':
      return typeof actual === 'string' && text.endsWith(want);
    default: {
      const a = toNumber(actual);
      const b = toNumber(expected);
      if (a === undefined || b === undefined) return false;
      if (cond.operator === 'gt') return a > b;
      if (cond.operator === 'gte') return a >= b;
      if (cond.operator === 'lt') return a < b;
      return a <= b;
    }
  }
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v.trim());
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}
