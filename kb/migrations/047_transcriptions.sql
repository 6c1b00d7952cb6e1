-- Transcribe: one row per episode whose audio was (or is being) transcribed offline.
-- status: running (claimed; a row left running by a killed process is taken up again),
-- done (the transcript became the document's text), not_english / no_speech (kept here with
-- the reason, the document keeps its show notes), failed (reason; retried after
-- next_attempt_at when the failure may pass, never automatically when it will not).
CREATE TABLE IF NOT EXISTS transcriptions (
    document_id INTEGER PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
    enclosure_url TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    warning TEXT,
    model TEXT,
    model_version TEXT,
    language TEXT,
    language_probability REAL,
    audio_seconds REAL,
    transcribe_seconds REAL,
    passages INTEGER,
    text TEXT,
    segments TEXT NOT NULL DEFAULT '[]',
    resume_at REAL,          -- while running: seconds of audio already transcribed (segments hold them)
    progress TEXT,           -- while running: what a resumed run needs to go on (JSON)
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    started_at TEXT,
    finished_at TEXT
);
CREATE INDEX IF NOT EXISTS idx_transcriptions_status ON transcriptions(status, next_attempt_at);
