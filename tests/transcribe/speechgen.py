"""Speech made at test time: espeak-ng speaks, PyAV (faster-whisper's decoder) encodes the mp3.

Used by tests/transcribe and by `python -m bench transcribe`. Nothing here is shipped.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ESPEAK = shutil.which("espeak-ng")


def speak(text: str, wav: Path, *, voice: str = "en-us", words_per_minute: int = 150, gap_ms: int = 10) -> Path:
    """`text` spoken by espeak-ng into a WAV file (22.05 kHz mono)."""
    if ESPEAK is None:
        raise RuntimeError("espeak-ng is not installed (make test installs it via tests/setup-debian.sh)")
    subprocess.run([ESPEAK, "-v", voice, "-s", str(words_per_minute), "-g", str(gap_ms), "-w", str(wav), text],
                   check=True, capture_output=True, timeout=300)
    return wav


def encode_mp3(wav: Path, mp3: Path, *, bit_rate: int = 48000) -> Path:
    """Re-encode a WAV as MP3 with PyAV's bundled libmp3lame."""
    import av

    with av.open(str(wav)) as source, av.open(str(mp3), "w", format="mp3") as out:
        stream = out.add_stream("libmp3lame", rate=source.streams.audio[0].rate)
        stream.bit_rate = bit_rate
        for frame in source.decode(audio=0):
            frame.pts = None
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return mp3


def silence_mp3(mp3: Path, seconds: float, *, rate: int = 22050) -> Path:
    """An MP3 of `seconds` of silence."""
    import av
    import numpy as np

    with av.open(str(mp3), "w", format="mp3") as out:
        stream = out.add_stream("libmp3lame", rate=rate, layout="mono")
        samples = np.zeros((1, int(seconds * rate)), dtype=np.int16)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return mp3


def spoken_mp3(text: str, mp3: Path, **speak_args) -> Path:
    """`text` spoken and encoded as MP3 at `mp3`."""
    wav = mp3.with_suffix(".wav")
    speak(text, wav, **speak_args)
    encode_mp3(wav, mp3)
    wav.unlink()
    return mp3
