/**
 * Whether a page at `origin` (the browser's `Origin` header) may use a bot's widget: its
 * `settings.widget.allowed_origins` lists origins as `scheme://host[:port]` (a trailing slash or
 * path is ignored, default ports are implied), or `*` for any page. No list, no origin: refused.
 */
export function originAllowed(origin: string | undefined, allowed: readonly string[] | undefined): boolean {
  if (!origin || !allowed || allowed.length === 0) return false;
  const wanted = normalize(origin);
  if (!wanted) return false;
  return allowed.some((entry) => entry.trim() === '*' || normalize(entry) === wanted);
}

function normalize(value: string): string | undefined {
  try {
    const url = new URL(value.trim());
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}
