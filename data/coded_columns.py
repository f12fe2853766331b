"""Columns of a large CSV/TSV as integer codes into their distinct texts: the fast reading of a response log.

A response log of 100 million answers has only a few hundred thousand distinct students and a few thousand
distinct skills, so every text step (strip, split a multi-skill cell, parse a number, natural order) runs
once per distinct text, and the rows are only integer codes (numpy). No TensorFlow.

    scan = scan_file(path)        # one streaming pass: sha1 of the bytes, encoding, whether a quote occurs
    columns, reader = read_coded_columns(path, scan, separator, text_names, number_name)
      columns[name] = CodedColumn(codes, texts): row i holds texts[codes[i]] (the cell as read, unstripped)
      columns[number_name] = int64 array when every cell of that column is a plain integer, else a
                             CodedColumn like the others (the caller parses its distinct texts)
      reader = "pyarrow" | "pandas": who parsed the file

pyarrow's CSV reader (multi-threaded, dictionary-encoding while it parses) is used when it is installed and
the separator is one character; it reads ~10 million rows per second on 2 cores. Without it (the Python 3.7
leg) or on a file it refuses (e.g. a row with more fields than the header, which pandas takes as an index),
pandas' C reader is used instead, which gives the same texts, ~5-10x slower.
"""
import codecs
import collections
import hashlib

import numpy as np
import pandas as pd

CodedColumn = collections.namedtuple("CodedColumn", ["codes", "texts"])
FileScan = collections.namedtuple("FileScan", ["digest", "encoding", "has_quotes", "has_hex", "size"])

CHUNK_BYTES = 16 * 2 ** 20
# pyarrow parses blocks of this size, each with its own dictionaries, unified afterwards: 16 MB blocks
# (pyarrow's default is 1 MB) leave ~15x fewer dictionary entries to unify on a log of many students
BLOCK_BYTES = 16 * 2 ** 20


def scan_file(path):
    """FileScan of `path`, read once in chunks (never the whole file in memory).

    digest: a hashlib.sha1 updated with the file's bytes (data.dataset.fingerprint of the bytes, unfinished);
    encoding: "UTF-8" when the bytes are valid UTF-8, else "ISO-8859-1" (data.interactions.detect_encoding);
    has_quotes: whether a '"' occurs (a quoted cell may hold a line break, which the fast reader must know);
    has_hex: whether "0x" or "0X" occurs (pyarrow reads 0x1F as the integer 31, pandas as no number).
    """
    digest = hashlib.sha1()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8, has_quotes, has_hex, size, last = True, False, False, 0, b""
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(CHUNK_BYTES)
            final = not chunk
            if utf8:
                try:
                    decoder.decode(chunk, final)
                except UnicodeDecodeError:
                    utf8 = False
            if final:
                break
            digest.update(chunk)
            has_quotes = has_quotes or b'"' in chunk
            if not has_hex and (b"x" in chunk or b"X" in chunk):  # one byte first: "0x" is slow to seek
                has_hex = b"0x" in chunk or b"0X" in chunk or (last + chunk[:1]) in (b"0x", b"0X")
            size, last = size + len(chunk), chunk[-1:]
    return FileScan(digest, "UTF-8" if utf8 else "ISO-8859-1", has_quotes, has_hex, size)


def pyarrow_csv():
    """pyarrow.csv, or None when pyarrow is not installed (the Python 3.7 leg)."""
    try:
        import pyarrow.csv
    except ImportError:
        return None
    return pyarrow.csv


def read_coded_columns(path, scan, separator, text_names, number_name=None):
    """({name: CodedColumn or int64 array}, reader name); see the module docstring.

    Raises pandas' ParserError / ValueError when neither reader can parse the file (the caller words it).
    """
    arrow = pyarrow_csv()
    if arrow is not None and len(separator) == 1:
        import pyarrow
        try:
            return _read_with_pyarrow(arrow, path, scan, separator, text_names, number_name), "pyarrow"
        except (pyarrow.ArrowInvalid, pyarrow.ArrowNotImplementedError, KeyError):
            pass  # a file pyarrow refuses (or reads otherwise): pandas decides, as the reference does
    return _read_with_pandas(path, scan, separator, text_names, number_name), "pandas"


def pandas_encoding(encoding):
    """The codec pandas reads a file with: a UTF-8 byte order mark is not part of the first column's name."""
    return "utf-8-sig" if encoding == "UTF-8" else "latin-1"


def _read_with_pyarrow(arrow, path, scan, separator, text_names, number_name):
    import pyarrow
    number = number_name if number_name and number_name not in text_names else None
    texts = list(text_names)
    table = None
    if number and not scan.has_hex:  # pyarrow reads 0x1F as 31, pandas as no number: then its text decides
        try:  # integers parsed while reading: ~8 bytes a row instead of a text column
            table = _arrow_table(arrow, path, scan, separator, texts, number, pyarrow.int64())
            if table.column(number).null_count > 0:  # an empty cell reads as null: its text decides
                table = None
        except pyarrow.ArrowInvalid:  # not all plain integers (dates, decimals, a bad value): as text
            table = None
    if table is None:
        table = _arrow_table(arrow, path, scan, separator, texts + ([number] if number else []), None, None)
    columns = {}
    for name in table.column_names:  # one column at a time, each freed once coded: less peak memory
        column = table.column(name)
        table = table.drop_columns([name]) if hasattr(table, "drop_columns") else table.drop([name])
        if pyarrow.types.is_dictionary(column.type):
            columns[name] = _dictionary_codes(pyarrow, column)
        else:
            columns[name] = column.to_numpy()
        del column
    pyarrow.default_memory_pool().release_unused()  # what the reading held, back to the system
    return columns


def _arrow_table(arrow, path, scan, separator, text_names, number_name, number_type):
    """The columns text_names (dictionary-encoded texts) and number_name (number_type) of the file."""
    import pyarrow
    types = dict((name, pyarrow.dictionary(pyarrow.int32(), pyarrow.string())) for name in text_names)
    if number_name:
        types[number_name] = number_type
    names = sorted(types)
    table = arrow.read_csv(
        path,
        read_options=arrow.ReadOptions(encoding="utf8" if scan.encoding == "UTF-8" else "latin1",
                                       block_size=BLOCK_BYTES),
        parse_options=arrow.ParseOptions(delimiter=separator, newlines_in_values=scan.has_quotes),
        convert_options=arrow.ConvertOptions(column_types=types, include_columns=names,
                                             strings_can_be_null=False, quoted_strings_can_be_null=False))
    if sorted(table.column_names) != names:
        raise KeyError("columns %s read as %s" % (names, table.column_names))
    return table


def _dictionary_codes(pyarrow, chunked):
    """CodedColumn of a pyarrow ChunkedArray of dictionaries (each chunk has its own: unified here)."""
    if chunked.num_chunks == 0:
        return CodedColumn(np.zeros(0, dtype=np.int32), [])
    chunked = pyarrow.table({"column": chunked}).unify_dictionaries().column(0)
    texts = chunked.chunk(0).dictionary.to_pylist()
    codes = np.concatenate([chunk.indices.to_numpy(zero_copy_only=False) for chunk in chunked.chunks])
    return CodedColumn(codes.astype(np.int32, copy=False), texts)


def _read_with_pandas(path, scan, separator, text_names, number_name):
    names = sorted(set(text_names) | ({number_name} if number_name else set()))
    table = pd.read_csv(path, sep=separator, encoding=pandas_encoding(scan.encoding), dtype=str,
                        keep_default_na=False, usecols=names)
    return dict((name, _factorized(table[name].values)) for name in names)


def _factorized(values):
    """CodedColumn of an object column; a missing cell (a short row) is the text "nan", as str(NaN) is."""
    codes, uniques = pd.factorize(values)
    texts = [str(text) for text in uniques]
    if (codes < 0).any():
        codes = np.where(codes < 0, len(texts), codes)
        texts.append("nan")
    return CodedColumn(codes.astype(np.int32), texts)


def stable_group_order(groups, n_groups):
    """np.argsort(groups, kind="stable") of int codes in [0, n_groups), by a counting sort (O(n)) where
    pandas has it (pandas._libs.algos.groupsort_indexer, in pandas 1.x to 3.x): ~4x faster on 10M rows."""
    try:
        from pandas._libs.algos import groupsort_indexer
        indexer, _ = groupsort_indexer(np.asarray(groups, dtype=np.intp), int(n_groups))
        return np.asarray(indexer)
    except (ImportError, TypeError, ValueError):  # a pandas without it (a private helper): numpy's sort
        return np.argsort(groups, kind="stable")
