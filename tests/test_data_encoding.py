"""A file in an encoding the readers cannot take (UTF-16 or UTF-32, with or without a byte order mark) is
refused with its name, its encoding and how to re-save it, by every source that reads files; never read as
latin-1 into "missing column(s): ÿþstudent"."""
import os

import pytest

from data import DataError
from test_data_ednet import make_ednet
from tiny_runs import load_data

LOG = "student,skill,correct,order\ns1,a,1,1\ns1,b,0,2\ns2,a,1,1\ns2,b,1,2\n"


def _assert_encoding_hint(error, path, encoding):
    message = str(error.value)
    assert message.startswith(path) and encoding in message and "UTF-8" in message, message
    assert "missing column" not in message and "\xff" not in message


@pytest.mark.parametrize("codec, encoding", [
    ("utf-16", "UTF-16"),     # with its byte order mark, as Excel's "Unicode text" saves it
    ("utf-16-be", "UTF-16"),  # without a mark
    ("utf-16-le", "UTF-16"),
    ("utf-32", "UTF-32"),
])
def test_a_csv_log_in_utf16_or_utf32_is_refused_with_a_hint(tmp_path, codec, encoding):
    (tmp_path / "responses.csv").write_bytes(LOG.encode(codec))
    with pytest.raises(DataError) as error:
        load_data("csv", str(tmp_path), csv_file="responses.csv")
    _assert_encoding_hint(error, str(tmp_path / "responses.csv"), encoding)


def test_an_assistments_file_in_utf16_is_refused_with_a_hint(tmp_path):
    path = tmp_path / "skill_builder_data.csv"
    path.write_bytes("order_id,user_id,skill_id,skill_name,correct\n1,1,10,Add,1\n".encode("utf-16"))
    with pytest.raises(DataError) as error:
        load_data("assistments", str(tmp_path))
    _assert_encoding_hint(error, str(path), "UTF-16")


def test_a_three_line_file_in_utf16_is_refused_with_a_hint(tmp_path):
    for split in ("train1", "valid1", "test"):
        (tmp_path / ("d_%s.csv" % split)).write_bytes("2\n1,2\n1,0\n".encode("utf-16" if split == "valid1"
                                                                            else "ascii"))
    with pytest.raises(DataError) as error:
        load_data("d", str(tmp_path))
    _assert_encoding_hint(error, str(tmp_path / "d_valid1.csv"), "UTF-16")


@pytest.mark.parametrize("which", ["contents/questions.csv", "KT1/u2.csv"])
def test_ednet_files_in_utf16_are_refused_with_a_hint(tmp_path, which):
    make_ednet(tmp_path, n_users=3)
    path = os.path.join(str(tmp_path), which)
    with open(path, "rb") as handle:
        text = handle.read().decode("ascii")
    with open(path, "wb") as handle:
        handle.write(text.encode("utf-16"))
    with pytest.raises(DataError) as error:
        load_data("ednet", str(tmp_path))
    _assert_encoding_hint(error, path, "UTF-16")
