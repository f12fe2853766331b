"""The cache of preprocessed data sets (data/cache.py, main.py's DATA_CACHE): reused while the file and the
options stay the same, rebuilt otherwise or when damaged, never pickled (issue 19 item 2)."""
import os

import numpy as np
import pytest

import data
import main
from data import cache
from tiny_runs import load_data

LOG = "student,skill,correct,order\n" + "".join(
    "s%d,%d,%d,%d\n" % (student, (student * 7 + step) % 5, (student + step) % 3 > 0, step)
    for student in range(12) for step in range(6))


def _load(dataset_dir, cache_dir, **options):
    return load_data("csv", str(dataset_dir), cache_dir=str(cache_dir), **options)


def _same(one, other):
    assert (one.fingerprint, one.skill_ids, one.stats) == (other.fingerprint, other.skill_ids, other.stats)
    for split in ("train", "valid", "test"):
        assert [s.student for s in getattr(one, split)] == [s.student for s in getattr(other, split)]
        for mine, theirs in zip(getattr(one, split), getattr(other, split)):
            assert mine.skills.dtype == theirs.skills.dtype == np.int32
            np.testing.assert_array_equal(mine.skills, theirs.skills)
            np.testing.assert_array_equal(mine.answers, theirs.answers)


@pytest.fixture
def log_dir(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "responses.csv").write_text(LOG)
    return folder


def test_the_second_load_comes_from_the_cache_and_equals_the_first(log_dir, tmp_path):
    first = _load(log_dir, tmp_path / "cache")
    assert "saved to the cache" in first.report[-1]
    second = _load(log_dir, tmp_path / "cache")
    assert "from the cache" in second.report[-1] and second.report[:-1] == first.report[:-1]
    _same(first, second)
    _same(first, load_data("csv", str(log_dir)))  # no cache: the same data
    names = sorted(os.listdir(str(tmp_path / "cache")))
    assert [os.path.splitext(name)[1] for name in names] == [".json", ".npz"]
    with np.load(str(tmp_path / "cache" / names[1]), allow_pickle=False) as npz:  # no object arrays
        assert all(npz[name].dtype != object for name in npz.files)


def test_a_touched_file_or_another_option_is_preprocessed_again(log_dir, tmp_path):
    _load(log_dir, tmp_path / "cache")
    path = str(log_dir / "responses.csv")
    status = os.stat(path)
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns + 1000))
    assert "saved to the cache" in _load(log_dir, tmp_path / "cache").report[-1]
    assert len(os.listdir(str(tmp_path / "cache"))) == 2  # the entry was replaced: one .npz, one .json
    changed = _load(log_dir, tmp_path / "cache", split_seed=1)
    assert "saved to the cache" in changed.report[-1]
    assert "from the cache" in _load(log_dir, tmp_path / "cache", split_seed=1).report[-1]
    (log_dir / "responses.csv").write_text(LOG.replace("s1,", "s99,"))  # new content (and size)
    rebuilt = _load(log_dir, tmp_path / "cache", split_seed=1)
    assert "saved to the cache" in rebuilt.report[-1]
    assert "s99" in [s.student for part in (rebuilt.train, rebuilt.valid, rebuilt.test) for s in part]


@pytest.mark.parametrize("damage", ["truncate npz", "flip a byte of npz", "garble json", "drop json",
                                    "other key"])
def test_a_damaged_entry_is_rebuilt_not_trusted(log_dir, tmp_path, damage):
    first = _load(log_dir, tmp_path / "cache")
    folder = tmp_path / "cache"
    npz = [folder / name for name in os.listdir(str(folder)) if name.endswith(".npz")][0]
    text = npz.with_suffix(".json")
    if damage == "truncate npz":
        npz.write_bytes(npz.read_bytes()[:-40])
    elif damage == "flip a byte of npz":  # same size: the zip's CRC finds it
        content = bytearray(npz.read_bytes())
        content[len(content) // 3] ^= 0xFF
        npz.write_bytes(bytes(content))
    elif damage == "garble json":
        text.write_text(text.read_text()[:50])
    elif damage == "drop json":
        text.unlink()
    else:
        text.write_text(text.read_text().replace('"key": "', '"key": "0'))
    again = _load(log_dir, tmp_path / "cache")
    assert "saved to the cache" in again.report[-1]
    _same(first, again)
    assert "from the cache" in _load(log_dir, tmp_path / "cache").report[-1]


def test_an_unwritable_cache_folder_does_not_stop_the_load(log_dir, tmp_path):
    (tmp_path / "file").write_text("not a folder")
    dataset = _load(log_dir, tmp_path / "file" / "cache")
    assert "not cached" in dataset.report[-1] and dataset.stats["interactions"] == 72


def test_load_from_config_uses_the_cache_only_when_data_cache_is_on(log_dir, tmp_path):
    config = main.constants()
    config.update(dataset="csv", dataset_dir=str(log_dir), data_cache=False)
    assert "cache" not in data.load_from_config(config, cache_dir=str(tmp_path / "c")).report[-1]
    assert not (tmp_path / "c").exists()
    config["data_cache"] = True
    assert "saved to the cache" in data.load_from_config(config, cache_dir=str(tmp_path / "c")).report[-1]
    del config["data_cache"]  # a run made before the constant: no cache
    assert "cache" not in data.load_from_config(config, cache_dir=str(tmp_path / "c")).report[-1]


def test_a_missing_file_is_the_loaders_error_not_the_caches(tmp_path):
    with pytest.raises(data.DataError, match="response log not found"):
        _load(tmp_path, tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_a_new_cache_format_ignores_the_old_entries(log_dir, tmp_path, monkeypatch):
    _load(log_dir, tmp_path / "cache")
    monkeypatch.setattr(cache, "CACHE_FORMAT", cache.CACHE_FORMAT + 1)
    assert "saved to the cache" in _load(log_dir, tmp_path / "cache").report[-1]


def test_other_preprocessing_code_never_reuses_an_entry(log_dir, tmp_path, monkeypatch):
    code = [tmp_path / "response_log.py", tmp_path / "interactions.py"]
    for path in code:
        path.write_text("def load(): pass\n")
    before = cache.code_digest(tuple(str(path) for path in code))
    code[1].write_text("def load(): return 1\n")   # one line of one file changed
    assert cache.code_digest.__wrapped__(tuple(str(path) for path in code)) != before
    assert set(cache.DATA_CODE) >= set(str(p) for p in [os.path.join(cache.REPO, "data", "response_log.py"),
                                                         os.path.join(cache.REPO, "data", "cache.py")])
    _load(log_dir, tmp_path / "cache")
    monkeypatch.setattr(cache, "code_digest", lambda: "another version of data/")
    assert "saved to the cache" in _load(log_dir, tmp_path / "cache").report[-1]


def test_only_the_temporary_files_of_killed_writes_are_deleted(tmp_path):
    old, young = tmp_path / ".partial-old", tmp_path / ".partial-young"
    for path in (old, young):
        path.write_bytes(b"half an entry")
    day_ago = os.path.getmtime(str(young)) - cache.ABANDONED_SECONDS - 1
    os.utime(str(old), (day_ago, day_ago))
    cache.remove_abandoned_writes(str(tmp_path))
    assert not old.exists() and young.exists()   # young: maybe another run's write in progress
