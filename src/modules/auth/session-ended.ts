/**
 * A boolean SQL expression: the refresh-token family in parameter `param` was revoked, i.e. its
 * sign-in session ended. Auth's own check uses it, and the bot access check embeds it so a bot
 * route checks access and session in one statement (see `Ctx.sessionCheck`).
 */
export const familyRevokedSql = (param: string): string =>
  `EXISTS (SELECT 1 FROM refresh_tokens WHERE family_id = ${param} AND revoked_at IS NOT NULL)`;
