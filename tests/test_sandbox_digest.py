"""The student package's digest (cnnlab.course.grader.sandbox._package_digest) is remembered per stat
signature of the tree, and still follows every edit of a file's content."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

import cnnlab
from cnnlab.course.grader import sandbox


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """A copy of the checkout's ``cnnlab`` package (its ``course/`` reduced to one file), with the
    digest cache in a temporary folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    package = tmp_path / "cnnlab"
    shutil.copytree(sandbox._package_dir(), package,
                    ignore=lambda top, names: {"course"} if Path(top) == sandbox._package_dir() else
                    {n for n in names if n == "__pycache__"})
    (package / "course").mkdir()
    (package / "course" / "reference.py").write_text("ANSWER = 1\n")
    return package


def _by_hand(package: Path) -> str:
    """The digest written out here: the version, then each file's path and bytes, sorted by path,
    ``course/`` and compiled files left out."""
    digest = hashlib.sha256(cnnlab.__version__.encode())
    files = sorted(p for p in package.rglob("*") if p.is_file() and "course" != p.relative_to(package).parts[0]
                   and "__pycache__" not in p.parts and p.suffix != ".pyc")
    for path in files:
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:20]


def _no_content_reads(monkeypatch):
    def refuse(package):
        raise AssertionError("the digest was computed from the content although the tree did not change")

    monkeypatch.setattr(sandbox, "_content_digest", refuse)


def test_the_digest_is_the_content_digest_and_follows_an_edit(tree, monkeypatch):
    monkeypatch.setattr(sandbox, "_SETTLE_NS", 0)  # the copy is seconds old: remember it anyway
    first = sandbox._package_digest(tree)
    assert first == _by_hand(tree)
    with monkeypatch.context() as m:  # unchanged: the same digest from the stat walk alone
        _no_content_reads(m)
        assert sandbox._package_digest(tree) == first
    target = tree / "ops" / "conv.py"
    text = target.read_text()
    target.write_text(text + "\n# edited\n")
    edited = sandbox._package_digest(tree)
    assert edited != first and edited == _by_hand(tree)
    target.write_text(text)  # the old content again: the old digest
    assert sandbox._package_digest(tree) == first


def test_an_edit_that_keeps_size_and_modification_time_still_changes_the_digest(tree, monkeypatch):
    """A same-size edit with the old modification time put back (an edit within one clock tick, or
    ``touch -r``) changes the change time, which the signature holds."""
    monkeypatch.setattr(sandbox, "_SETTLE_NS", 0)
    first = sandbox._package_digest(tree)
    target = tree / "gradcheck.py"
    before = target.stat()
    data = bytearray(target.read_bytes())
    data[0] = ord("#") if data[0] != ord("#") else ord(" ")
    target.write_bytes(bytes(data))
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = target.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert sandbox._package_digest(tree) == _by_hand(tree) != first


def test_what_the_wheel_leaves_out_or_the_course_does_not_change_the_digest(tree, monkeypatch):
    monkeypatch.setattr(sandbox, "_SETTLE_NS", 0)
    first = sandbox._package_digest(tree)
    (tree / "__pycache__").mkdir(exist_ok=True)
    (tree / "__pycache__" / "gradcheck.cpython-311.pyc").write_bytes(b"\0" * 16)
    (tree / "course" / "reference.py").write_text("ANSWER = 2\n")
    assert sandbox._package_digest(tree) == first
    (tree / "new_module.py").write_text("X = 1\n")
    assert sandbox._package_digest(tree) != first


def test_a_tree_changed_seconds_ago_is_not_remembered(tree, monkeypatch):
    """Files changed within the settling time could change again and keep every time stamp: such a
    signature is never stored, so the next call reads the content again."""
    first = sandbox._package_digest(tree)  # the copy was just written
    store = sandbox._package_cache() / "digests.json"
    assert not store.exists()
    calls = []
    real = sandbox._content_digest
    monkeypatch.setattr(sandbox, "_content_digest", lambda p: calls.append(p) or real(p))
    assert sandbox._package_digest(tree) == first and calls == [tree]


def test_a_damaged_cache_file_is_ignored_and_replaced(tree, monkeypatch):
    monkeypatch.setattr(sandbox, "_SETTLE_NS", 0)
    store = sandbox._package_cache() / "digests.json"
    store.parent.mkdir(parents=True)
    for junk in ("not json", "[1, 2]", json.dumps({"x": 5})):
        store.write_text(junk)
        assert sandbox._package_digest(tree) == _by_hand(tree)
    signature, settled = sandbox._tree_signature(tree)
    assert settled and json.loads(store.read_text())[signature] == _by_hand(tree)
    store.write_text(json.dumps({signature: "../../etc"}))  # not a digest: computed again, never used as a path
    assert sandbox._package_digest(tree) == _by_hand(tree)


def test_the_cache_keeps_a_bounded_number_of_digests(tree, monkeypatch):
    monkeypatch.setattr(sandbox, "_SETTLE_NS", 0)
    target = tree / "gradcheck.py"
    text = target.read_text()
    for k in range(sandbox._DIGESTS_KEPT + 4):
        target.write_text(text + "#" * (k + 1))  # a new size each time
        sandbox._package_digest(tree)
    kept = json.loads((sandbox._package_cache() / "digests.json").read_text())
    assert len(kept) == sandbox._DIGESTS_KEPT
    assert sandbox._tree_signature(tree)[0] in kept  # the newest one stays
