-- Publishable keys for the embeddable chat widget: they live in web pages, so they only open a
-- bot's public widget routes (from its allowed origins) and never work as a Bearer credential.
ALTER TABLE api_keys ADD COLUMN kind text NOT NULL DEFAULT 'secret' CHECK (kind IN ('secret', 'publishable'));
ALTER TABLE api_keys ADD CONSTRAINT api_keys_publishable_bot CHECK (kind = 'secret' OR bot_id IS NOT NULL);
