"""Archive extraction: accepted shapes, refused shapes, limits counted while reading."""
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from grader.archive import ArchiveRefused, Limits, extract_archive


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_plain_zip_is_extracted_with_private_modes(tmp_path):
    archive = _zip(tmp_path / "a.zip", {"sub/profile.json": b"{}", "README": b"hi"})
    out = extract_archive(archive, tmp_path / "out")
    assert (out / "sub" / "profile.json").read_bytes() == b"{}"
    assert (out / "README").stat().st_mode & 0o777 == 0o600


def test_tar_gz_is_extracted(tmp_path):
    path = tmp_path / "a.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        info = tarfile.TarInfo("profile.json")
        info.size = 2
        tf.addfile(info, io.BytesIO(b"{}"))
    assert (extract_archive(path, tmp_path / "out") / "profile.json").read_text() == "{}"


def test_member_limit_is_enforced_on_bytes_read_not_headers(tmp_path):
    archive = _zip(tmp_path / "a.zip", {"big": b"a" * 5000})
    with pytest.raises(ArchiveRefused, match="larger than"):
        extract_archive(archive, tmp_path / "out", Limits(max_member_bytes=4096))


def test_refusal_leaves_no_file_outside_destination(tmp_path):
    archive = _zip(tmp_path / "a.zip", {"ok.json": b"{}", "../escape.json": b"{}"})
    with pytest.raises(ArchiveRefused, match="path traversal"):
        extract_archive(archive, tmp_path / "out")
    assert not (tmp_path / "escape.json").exists()
    assert list((tmp_path / "out").iterdir()) == []  # checked before anything is written


def test_non_empty_destination_is_a_programming_error(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x").write_text("x")
    with pytest.raises(ValueError):
        extract_archive(_zip(tmp_path / "a.zip", {"a": b""}), tmp_path / "out")


def test_file_then_folder_with_same_name_is_refused(tmp_path):
    archive = _zip(tmp_path / "a.zip", {"a": b"x", "a/b": b"y"})
    with pytest.raises(ArchiveRefused, match="clashes"):
        extract_archive(archive, tmp_path / "out")
