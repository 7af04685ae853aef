/**
 * The small type system of workflow variables. Every node type declares the type of each output so
 * the validator can reject a wiring that cannot work (an `iteration` over a string, `gt` on a list)
 * before a run, while `any` keeps values whose shape is only known at run time (an HTTP body's JSON)
 * usable.
 */
export type VarType =
  | 'string'
  | 'number'
  | 'boolean'
  | 'object'
  | 'array[string]'
  | 'array[number]'
  | 'array[object]'
  | 'array[any]'
  | 'any';

export const VAR_TYPES: readonly VarType[] = [
  'string',
  'number',
  'boolean',
  'object',
  'array[string]',
  'array[number]',
  'array[object]',
  'array[any]',
  'any',
];

export function isArrayType(t: VarType): boolean {
  return t.startsWith('array[');
}

/** The type of one element of a list type; `any` for `any`; undefined for non-lists. */
export function elementType(t: VarType): VarType | undefined {
  if (t === 'any') return 'any';
  if (!isArrayType(t)) return undefined;
  return t.slice('array['.length, -1) as VarType;
}

/** Whether a value of type `actual` may be used where one of `accepted` is expected. */
export function isAssignable(actual: VarType, accepted: readonly VarType[]): boolean {
  if (actual === 'any' || accepted.includes('any') || accepted.includes(actual)) return true;
  return isArrayType(actual) && accepted.includes('array[any]');
}

/**
 * The type reached by following `path` (fields or list indices) into a value of type `t`.
 * Fields of objects are not declared, so they are `any`; scalars have no fields.
 */
export function typeAtPath(t: VarType, path: readonly string[]): { type: VarType } | { error: string } {
  let current = t;
  for (const segment of path) {
    if (current === 'any' || current === 'object') return { type: 'any' };
    if (isArrayType(current)) {
      if (!/^\d+$/.test(segment)) return { error: `"${segment}" is not a list index of a ${current}` };
      current = elementType(current) ?? 'any';
      continue;
    }
    return { error: `a ${current} has no field "${segment}"` };
  }
  return { type: current };
}

/** The run-time type of a value, in the same vocabulary (used in traces and tests). */
export function typeOfValue(value: unknown): VarType {
  if (typeof value === 'string') return 'string';
  if (typeof value === 'number') return 'number';
  if (typeof value === 'boolean') return 'boolean';
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === 'string')) return 'array[string]';
    if (value.every((v) => typeof v === 'number')) return 'array[number]';
    if (value.every((v) => v !== null && typeof v === 'object' && !Array.isArray(v))) return 'array[object]';
    return 'array[any]';
  }
  if (value !== null && typeof value === 'object') return 'object';
  return 'any';
}

/**
 * Emptiness as conditions and the variable aggregator see it: nothing, a blank string, an empty
 * list or an object without keys.
 */
export function isEmptyValue(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (typeof value === 'string') return value.trim() === '';
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.keys(value).length === 0;
  return false;
}
