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


def _flip_answers(text):
    """The log with every answer flipped: the same size, other content."""
    lines = text.splitlines(True)
    flipped = []
    for line in lines[1:]:
        student, skill, correct, order = line.rstrip("\n").split(",")
        flipped.append("%s,%s,%d,%s\n" % (student, skill, 1 - int(correct), order))
    return lines[0] + "".join(flipped)


def _answers(dataset):
    return [(seq.student, seq.answers.tolist())
            for split in ("train", "valid", "test") for seq in getattr(dataset, split)]


def test_a_file_rewritten_with_its_size_and_times_restored_is_preprocessed_again(log_dir, tmp_path):
    # cp -p, rsync -t and touch -r leave a rewritten file with its old size and modification time
    path = str(log_dir / "responses.csv")
    first = _load(log_dir, tmp_path / "cache")
    before = os.stat(path)
    with open(path, "r+") as handle:  # rewritten in place: the same inode
        handle.write(_flip_answers(LOG))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.path.getsize(path) == before.st_size
    again = _load(log_dir, tmp_path / "cache")
    assert "saved to the cache" in again.report[-1]
    uncached = load_data("csv", str(log_dir))
    assert _answers(again) == _answers(uncached) != _answers(first)
    # the fingerprint describes the content: a resume of a run on the old answers notices the change
    assert again.fingerprint == uncached.fingerprint != first.fingerprint


@pytest.mark.parametrize("edit", ["npz answers flipped, same size", "json student id edited"])
def test_an_edited_entry_is_found_rebuilt_and_said(log_dir, tmp_path, edit):
    first = _load(log_dir, tmp_path / "cache")
    folder = tmp_path / "cache"
    npz = [folder / name for name in os.listdir(str(folder)) if name.endswith(".npz")][0]
    if edit.startswith("npz"):
        with np.load(str(npz), allow_pickle=False) as entry:
            arrays = dict((name, entry[name]) for name in entry.files)
        arrays["train_answers"] = 1 - arrays["train_answers"]
        size = npz.stat().st_size
        np.savez(str(npz), **arrays)   # a valid zip with its own CRCs, the same size
        assert npz.stat().st_size == size
    else:
        text = npz.with_suffix(".json")
        student = first.train[0].student
        edited = text.read_text().replace('"%s"' % student, '"%s"' % ("x" + student[1:]), 1)
        assert edited != text.read_text()
        text.write_text(edited)
    again = _load(log_dir, tmp_path / "cache")
    _same(first, again)
    said = [line for line in again.report if "edited or damaged" in line]
    assert len(said) == 1 and npz.name in said[0] and "saved to the cache" in again.report[-1]
    assert "from the cache" in _load(log_dir, tmp_path / "cache").report[-1]


def test_a_file_rewritten_while_it_is_read_is_not_cached(log_dir, tmp_path):
    path = str(log_dir / "responses.csv")

    def load_while_rewritten():
        dataset = load_data("csv", str(log_dir))
        with open(path, "r+") as handle:
            handle.write(_flip_answers(LOG))
        return dataset
    options = {"csv_file": "responses.csv"}
    dataset = cache.cached_load(str(tmp_path / "cache"), "csv", [path], options, load_while_rewritten)
    assert dataset.report[-1] == "  not cached (an input file changed while it was read)"
    assert not (tmp_path / "cache").exists()
