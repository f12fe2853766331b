"""A cache of preprocessed data sets, so the second run on the same log starts training in seconds. No TF.

    dataset = cached_load(cache_dir, name, input_files, options, load)

`load()` preprocesses (a source's loader); its Dataset is saved in cache_dir as <stem>.npz (numpy arrays, read
with allow_pickle=False) and <stem>.json (the texts: skill ids and names, student ids, report, stats,
fingerprint, the key and the checksums). The key is a sha1 of CACHE_FORMAT, the data package's code, the
source's name, every data option it reads, and the identity of each input file (`file_identity`: its path,
size, modification time, and the inode and inode change time that no rewrite can set back): a rewritten or
replaced file, another option, other preprocessing code or a new format never reuses an entry, so the data
fingerprint it holds is always the one of the file's present content. The stem (see entry_stem) leaves out
the identities and the format, so such an entry is replaced, not kept beside the new one. No pickle anywhere.

An entry is written atomically (a temporary file renamed into place, the .json after the .npz), so a killed
run leaves no half entry (its temporary file is deleted by a later write, a day on). The .json holds the
CRC-32 of every array of the .npz (the zip's own, checked as each array is read: no extra pass over the
bytes) and a sha1 of its own content, so an entry that is damaged or edited (a truncated file, an .npz
re-saved with other arrays, an id changed in the .json, a disk error) is found when read, preprocessed again
and said in the report, never trusted. The folder (main.py's DATA_CACHE turns it on; `--data_cache false`
off) can be deleted at any time.
"""
import functools
import glob
import hashlib
import json
import os
import tempfile
import time
import zipfile

import numpy as np

from data.dataset import Dataset, Sequence

# Bump when this format changes (the preprocessing code is in the key by itself: `code_digest`).
CACHE_FORMAT = 2
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CACHE_DIR = os.path.join(REPO, ".cache", "data")  # git-ignored (/.cache/)
SPLITS = ("train", "valid", "test")
DATA_CODE = tuple(sorted(glob.glob(os.path.join(REPO, "data", "*.py"))))  # what makes a Dataset from files
ABANDONED_SECONDS = 24 * 3600  # a temporary file this old belongs to a write that was killed


@functools.lru_cache(maxsize=None)
def code_digest(paths=DATA_CODE):
    """Hex sha1 of the files `paths` (the data package's code): an entry made by other preprocessing code,
    an older or newer version of the repository, is never reused, whether or not CACHE_FORMAT was bumped."""
    digest = hashlib.sha1()
    for path in paths:
        with open(path, "rb") as handle:
            digest.update(os.path.basename(path).encode("utf-8") + b"\0" + handle.read() + b"\0")
    return digest.hexdigest()


def cache_key(name, input_files, options):
    """Hex sha1 of the format, the preprocessing code, the source, its options and each input file's
    identity (`file_identity`)."""
    return _sha1({"format": CACHE_FORMAT, "code": code_digest(), "source": name, "options": options,
                  "files": [file_identity(path) for path in input_files]})


def file_identity(path):
    """What changes whenever the file's content may have: its path, size and modification time, and where
    the system keeps them (POSIX) its device, inode and inode change time (ns). `cp -p`, `rsync -t` and
    `touch -r` restore a modification time, but the change time is set by the system on every write and no
    call sets it back, so a file rewritten with its old size and time is still a new file here; a stat
    costs microseconds where hashing a 1 GB log takes seconds. On Windows st_ctime is the creation time,
    which a rewrite keeps: there the content's sha1 stands in for it."""
    status = os.stat(path)
    identity = [os.path.abspath(path), status.st_size, status.st_mtime_ns]
    if os.name == "nt":
        return identity + [_file_sha1(path)]
    return identity + [status.st_dev, status.st_ino, status.st_ctime_ns]


def _file_sha1(path):
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(16 * 2 ** 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def entry_stem(cache_dir, name, input_files, options):
    """cache_dir/<source>-<sha1 of the options and the files' paths>: a file changed in place (or a new
    format) replaces its entry instead of adding one, so the folder does not fill with dead entries."""
    paths = [os.path.abspath(path) for path in input_files]
    return os.path.join(cache_dir, "%s-%s" % (name, _sha1({"source": name, "options": options,
                                                          "files": paths})[:20]))


def _sha1(value):
    return hashlib.sha1(json.dumps(value, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def cached_load(cache_dir, name, input_files, options, load):
    """The Dataset of `load()`, from cache_dir when an entry of the same key is there (see module docstring).

    The report's last line says whether it came from the cache or was saved to it (or why not).
    """
    key = cache_key(name, input_files, options)
    stem = entry_stem(cache_dir, name, input_files, options)
    dataset, problem = _read_entry(stem, key)
    if dataset is not None:
        dataset.report.append("  from the cache %s.npz (preprocessed before; delete it or pass --data_cache "
                              "false to preprocess again)" % stem)
        return dataset
    dataset = load()
    if problem:
        dataset.report.append("  the cache entry %s.npz was edited or damaged (%s): not used, preprocessed "
                              "again" % (stem, problem))
    if cache_key(name, input_files, options) != key:  # rewritten while it was read: what was read is unsure
        dataset.report.append("  not cached (an input file changed while it was read)")
        return dataset
    try:
        _write_entry(stem, key, dataset)
        dataset.report.append("  saved to the cache %s.npz: the next run on this file and options starts "
                              "from it" % stem)
    except OSError as error:  # a read-only or full disk: the run goes on without a cache
        dataset.report.append("  not cached (%s: %s)" % (cache_dir, error.strerror or error))
    return dataset


def _write_entry(stem, key, dataset):
    arrays, texts = _flatten(dataset)
    texts["key"] = key
    os.makedirs(os.path.dirname(stem), exist_ok=True)   # two runs may make it at once
    remove_abandoned_writes(os.path.dirname(stem))
    _write_atomically(stem + ".npz", lambda handle: np.savez(handle, **arrays))
    texts["npz_bytes"] = os.path.getsize(stem + ".npz")
    texts["npz_crc32"] = _member_crcs(stem + ".npz")
    texts = json.loads(json.dumps(texts))  # the checksum is of what a reader will parse
    texts["checksum"] = _sha1(texts)
    _write_atomically(stem + ".json", lambda handle: handle.write(json.dumps(texts).encode("utf-8")))


def _member_crcs(npz_path):
    """{array name: CRC-32 of its .npy bytes} from the zip's directory (np.savez computed them)."""
    with zipfile.ZipFile(npz_path) as archive:
        return dict((info.filename[:-len(".npy")], info.CRC) for info in archive.infolist())


def remove_abandoned_writes(cache_dir, now=None):
    """Deletes the temporary files of writes that were killed (older than ABANDONED_SECONDS; a younger one may
    be another run's write in progress)."""
    now = time.time() if now is None else now
    for partial in glob.glob(os.path.join(cache_dir, ".partial-*")):
        try:
            if now - os.path.getmtime(partial) > ABANDONED_SECONDS:
                os.remove(partial)
        except OSError:  # gone already (another run cleaned it), or not ours to delete
            pass


def _write_atomically(path, write):
    """`write(binary file)` into a temporary file of path's folder, then renamed to path: readers see the old
    entry or the new one. The temporary name is unique, as two runs may write the same entry at once."""
    descriptor, partial = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".partial-")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(partial, 0o666 & ~_umask())  # mkstemp makes it private; a cache file is like any other
        os.replace(partial, path)
    except BaseException:
        if os.path.exists(partial):
            os.remove(partial)
        raise


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _flatten(dataset):
    """(arrays for the .npz, texts for the .json) of a Dataset: per split one flat int32 array of skills and
    of answers, the sequences' lengths, and true_probs when the source has them."""
    arrays, texts = {}, {"students": {}}
    for split in SPLITS:
        sequences = getattr(dataset, split)
        arrays[split + "_lengths"] = np.array([len(seq.skills) for seq in sequences], dtype=np.int64)
        for field in ("skills", "answers"):
            arrays["%s_%s" % (split, field)] = _concatenate([getattr(seq, field) for seq in sequences],
                                                            np.int32)
        if any(seq.true_probs is not None for seq in sequences):
            arrays[split + "_true_probs"] = _concatenate([seq.true_probs for seq in sequences], np.float32)
        if dataset.n_items:
            arrays[split + "_items"] = _concatenate([seq.items for seq in sequences], np.int32)
        texts["students"][split] = [seq.student for seq in sequences]
    if dataset.true_concepts is not None:
        arrays["true_concepts"] = np.asarray(dataset.true_concepts)
    texts.update({"name": dataset.name, "n_skills": dataset.n_skills, "skill_ids": dataset.skill_ids,
                  "skill_names": dataset.skill_names, "report": dataset.report,
                  "fingerprint": dataset.fingerprint, "stats": dataset.stats, "item_ids": dataset.item_ids})
    return arrays, texts


def _concatenate(parts, dtype):
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype=dtype)


# What reading a damaged entry raises (json.JSONDecodeError is a ValueError)
ENTRY_ERRORS = (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile, UnicodeDecodeError)


def _read_entry(stem, key):
    """(the cached Dataset or None, None or what is wrong with the entry): no entry, or one of another key
    (a changed file or option: replaced as usual), is (None, None); a damaged or edited one is (None, why)."""
    halves = [os.path.isfile(stem + extension) for extension in (".json", ".npz")]
    if not any(halves):
        return None, None
    if not all(halves):
        return None, "its %s is missing" % (".npz" if halves[0] else ".json")
    try:
        with open(stem + ".json", "rb") as handle:
            texts = json.loads(handle.read().decode("utf-8"))
        if not isinstance(texts, dict) or texts.get("key") != key:
            return None, None if isinstance(texts, dict) and "key" in texts else "its .json has no key"
        stored = texts.pop("checksum", None)
        if stored != _sha1(texts):
            return None, "its .json does not match its checksum"
        if texts.get("npz_bytes") != os.path.getsize(stem + ".npz") or \
                texts.get("npz_crc32") != _member_crcs(stem + ".npz"):
            return None, "its .npz does not match the checksums in its .json"
        with np.load(stem + ".npz", allow_pickle=False) as npz:
            arrays = dict((name, npz[name]) for name in npz.files)  # reads every member: CRCs are checked
        return _unflatten(arrays, texts), None
    except ENTRY_ERRORS as error:
        return None, ("%s: %s" % (type(error).__name__, error))[:200]


def _unflatten(arrays, texts):
    splits = {}
    for split in SPLITS:
        lengths = arrays[split + "_lengths"]
        skills, answers = arrays[split + "_skills"], arrays[split + "_answers"]
        probs = arrays.get(split + "_true_probs")
        items = arrays.get(split + "_items") if texts.get("item_ids") else None
        students = texts["students"][split]
        items_lost = bool(texts.get("item_ids")) and (items is None or len(items) != len(skills))
        if (len(students) != len(lengths) or not len(skills) == len(answers) == int(lengths.sum())
                or items_lost):
            raise ValueError("a damaged cache entry")
        ends = np.cumsum(lengths).tolist()
        starts = [0] + ends[:-1]
        # each Sequence is a view into the split's flat arrays: no copy per student
        splits[split] = [Sequence(student, skills[start:end], answers[start:end],
                                  None if probs is None else probs[start:end],
                                  None if items is None else items[start:end])
                         for student, start, end in zip(students, starts, ends)]
    return Dataset(texts["name"], texts["n_skills"], texts["skill_ids"], texts["skill_names"],
                   arrays.get("true_concepts"), splits["train"], splits["valid"], splits["test"],
                   texts["report"], texts["fingerprint"], texts["stats"], item_ids=texts.get("item_ids"))
