import type { Queryable } from '../../platform/db/db.ts';
import type { BotSettings } from './settings.ts';

export interface BotRow {
  id: string;
  team_id: string;
  name: string;
  description: string | null;
  settings: BotSettings;
  /** The published workflow version that answers chat, or null (kept by a trigger, migration 0011). */
  workflow_version: number | null;
  created_at: Date;
  updated_at: Date;
}

export async function insertBot(
  db: Queryable,
  bot: { teamId: string; name: string; description: string | null; settings: BotSettings },
): Promise<BotRow> {
  const rows = await db.query<BotRow>(
    'INSERT INTO bots (team_id, name, description, settings) VALUES ($1, $2, $3, $4) RETURNING *',
    [bot.teamId, bot.name, bot.description, JSON.stringify(bot.settings)],
  );
  return rows[0] as BotRow;
}

export function findBot(db: Queryable, id: string): Promise<BotRow | undefined> {
  return db.query<BotRow>('SELECT * FROM bots WHERE id = $1', [id]).then((r) => r[0]);
}

/** Bots of the teams a user belongs to, or of one team. */
export function listBots(
  db: Queryable,
  filter: { userId?: string; teamId?: string; botId?: string },
): Promise<BotRow[]> {
  return db.query<BotRow>(
    `SELECT b.* FROM bots b
     WHERE ($1::uuid IS NULL OR b.team_id IN (SELECT team_id FROM team_members WHERE user_id = $1))
       AND ($2::uuid IS NULL OR b.team_id = $2)
       AND ($3::uuid IS NULL OR b.id = $3)
     ORDER BY b.created_at
     LIMIT 1000`,
    [filter.userId ?? null, filter.teamId ?? null, filter.botId ?? null],
  );
}

export async function updateBot(
  db: Queryable,
  id: string,
  patch: { name?: string | undefined; description?: string | null | undefined; settings?: BotSettings | undefined },
): Promise<BotRow> {
  const rows = await db.query<BotRow>(
    `UPDATE bots SET
       name = COALESCE($2, name),
       description = CASE WHEN $3::boolean THEN $4 ELSE description END,
       settings = COALESCE($5::jsonb, settings),
       updated_at = now()
     WHERE id = $1 RETURNING *`,
    [
      id,
      patch.name ?? null,
      patch.description !== undefined,
      patch.description ?? null,
      patch.settings ? JSON.stringify(patch.settings) : null,
    ],
  );
  return rows[0] as BotRow;
}

export async function deleteBot(db: Queryable, id: string): Promise<void> {
  await db.query('DELETE FROM bots WHERE id = $1', [id]);
}
