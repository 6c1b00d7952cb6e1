-- Login attempts on /-/login (private: never served by Datasette): the audit trail of failed
-- logins, and what login throttling counts (failures since the last success, per account and per
-- client address).
CREATE TABLE IF NOT EXISTS login_attempts (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    username TEXT NOT NULL,        -- as typed (truncated), whether or not such an editor exists
    client TEXT NOT NULL,          -- the client address as the server saw it
    succeeded INTEGER NOT NULL DEFAULT 0,
    throttled INTEGER NOT NULL DEFAULT 0,  -- refused with 429 before the password was checked
    user_agent TEXT
);
CREATE INDEX IF NOT EXISTS idx_login_attempts_username ON login_attempts(username, at);
CREATE INDEX IF NOT EXISTS idx_login_attempts_client ON login_attempts(client, at);
